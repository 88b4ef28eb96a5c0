// Must NOT compile: query/ast.h is internal to query/, and this probe links pathwise_db like any
// layer above query/ does. The CTest test "layers: ..." builds it and expects the compiler to say
// the header does not exist (cmake/PathwiseLayers.cmake).
#include "query/ast.h"

int main() { return 0; }
