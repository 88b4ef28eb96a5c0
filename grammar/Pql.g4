// PQL, Pathwise's query language: the single source of its syntax. docs/query-language.md is the
// reference. query/parser.cc turns the parse tree into query/ast.h immediately.
//
// Conventions:
//  - keywords are case-insensitive and named K_<WORD>; every token is named so that syntax errors
//    can render the expected set as keywords and symbols;
//  - a graph pattern used as a boolean expression needs at least one relationship, so `(x)` is a
//    parenthesised expression; where `(a)--(b)` could also read as `(a) - -(b)`, the pattern wins;
//  - expression precedence (low -> high): OR < XOR < AND < NOT < comparison, IN, IS NULL
//    < STARTS WITH, ENDS WITH, CONTAINS, =~ (as in openCypher) < + - < * / % < unary minus
//    < property access, call.
grammar Pql;

// ---------------------------------------------------------------------------------------------
// Statements

statement
  : K_PROFILE? unionQuery K_EXPLAIN? SEMI? EOF
  ;

// Queries joined by UNION (duplicate rows removed) or UNION ALL (kept); the converter rejects a
// mix of the two.
unionQuery
  : matchQuery (K_UNION K_ALL? matchQuery)*
  ;

// A pipeline of clauses ending in RETURN (openCypher's single query without updates), or in
// RECOMMEND (the clauses compute its seed and parameters; the converter rejects it in a UNION).
matchQuery
  : readingClause* (returnClause orderClause? skipClause? limitClause? | recommendQuery)
  ;

readingClause
  : K_OPTIONAL? K_MATCH matchPattern (COMMA matchPattern)* whereClause?           # matchClause
  | K_UNWIND expression K_AS variable                                              # unwindClause
  | K_WITH K_DISTINCT? returnItem (COMMA returnItem)* orderClause? skipClause? limitClause?
    whereClause?                                                                   # withClause
  ;

returnClause
  : K_RETURN K_DISTINCT? returnItem (COMMA returnItem)*
  ;

returnItem
  : expression (K_AS name)?
  ;

orderClause
  : K_ORDER K_BY sortItem (COMMA sortItem)*
  ;

sortItem
  : expression (K_ASC | K_ASCENDING | K_DESC | K_DESCENDING)?
  ;

skipClause
  : K_SKIP expression
  ;

limitClause
  : K_LIMIT expression
  ;

offsetClause
  : K_OFFSET expression
  ;

whereClause
  : K_WHERE expression
  ;

recommendQuery
  : K_RECOMMEND nodePattern K_FOR (nodePattern | variable) source+ whereClause? scoreClause?
    diversifyClause? (limitClause offsetClause? | offsetClause limitClause?)?
  ;

source
  : K_FROM pattern (K_MAX (integer | K_ALL) K_PER K_NODE)? (K_AS name)?            # graphSource
  | K_FROM K_NEAREST expression K_TO nearestTarget K_IN name DOT name
    (K_EF expression)? (K_AS name)?                                                # nearestSource
  | K_FROM algorithm=(K_WALK | K_PAGERANK | K_RP3BETA | K_NEXT) K_OVER relationship
    (COMMA relationship)* properties? (K_AS name)?                                 # rankSource
  ;

// The vector to search around. Not a full expression: `u.taste IN Item.embedding` must not read
// as an IN test. Parenthesise anything more complex than an atom with property accesses.
nearestTarget
  : examples (K_MINUS examples)?
  | atom (DOT name)*
  ;

examples
  : K_MEAN LPAREN variable RPAREN K_OVER pattern (K_WHERE expression)?
  ;

// SCORE's additive terms. `AS name` names the expression before it (back to the previous
// `AS name` or SCORE) as one term; an unnamed expression is split at its top-level + and -.
// Every expression but the last is followed by AS, so a + or - after an expression always
// continues that expression (no prediction ambiguity in long arithmetic chains).
scoreClause
  : K_SCORE expression (K_AS name scoreNamed* scoreLast?)?
  ;

scoreNamed
  : op=(PLUS | DASH) expression K_AS name
  ;

scoreLast
  : op=(PLUS | DASH) expression
  ;

diversifyClause
  : K_DIVERSIFY diversifyItem (COMMA? diversifyItem)?
  ;

diversifyItem
  : K_BY expression K_MAX expression                                              # diversifyBy
  | K_MMR number K_IN name DOT name                                                # diversifyMmr
  ;

// ---------------------------------------------------------------------------------------------
// Graph patterns

pattern
  : nodePattern (relationship nodePattern)*
  ;

// A MATCH pattern, optionally named by a path variable (p = ...) and optionally a shortest-path
// search (shortestPath(...), allShortestPaths(...); the converter checks the function's name).
matchPattern
  : (variable EQ)? (functionName LPAREN pattern RPAREN | pattern)
  ;

nodePattern
  : LPAREN variable? (COLON name)? properties? RPAREN
  ;

properties
  : LBRACE (propertyEntry (COMMA propertyEntry)*)? RBRACE
  ;

propertyEntry
  : name COLON expression
  ;

relationship
  : LT DASH relationshipDetail? DASH                                               # inRelationship
  | DASH relationshipDetail? DASH GT                                               # outRelationship
  | DASH relationshipDetail? DASH                                                  # bothRelationship
  ;

// The property map follows the hop range, as in Cypher (-[:T*1..2 {weight: 1}]->).
relationshipDetail
  : LBRACKET variable? (COLON name (PIPE COLON? name)*)? hopRange? properties?
    (K_MAX (integer | K_ALL))? RBRACKET
  ;

// Variable length: *, *2, *1..3, *..3, *2.. (bounds are checked by the binder).
hopRange
  : STAR (integer? DOTDOT integer? | integer)?
  ;

// ---------------------------------------------------------------------------------------------
// Expressions (one left-recursive rule; earlier alternatives bind tighter)

expression
  : expression DOT name                                                           # propertyExpr
  | DASH expression                                                                # negateExpr
  | PLUS expression                                                                # plusExpr
  | expression op=(STAR | SLASH | PERCENT) expression                              # multiplyExpr
  | expression op=(PLUS | DASH) expression                                         # addExpr
  | expression (K_STARTS K_WITH | K_ENDS K_WITH | K_CONTAINS | REGEX) expression   # stringExpr
  | expression (comparisonOp | K_NOT? K_IN) expression                             # compareExpr
  | expression K_IS K_NOT? K_NULL                                                  # isNullExpr
  | K_NOT expression                                                               # notExpr
  | expression K_AND expression                                                    # andExpr
  | expression K_XOR expression                                                    # xorExpr
  | expression K_OR expression                                                     # orExpr
  | atom                                                                           # atomExpr
  ;

comparisonOp
  : EQ | NEQ | LT | LE | GT | GE
  ;

caseAlternative
  : K_WHEN expression K_THEN expression
  ;

atom
  : literal                                                                        # literalAtom
  | PARAM                                                                          # paramAtom
  | LBRACKET variable K_IN expression (K_WHERE expression)? (PIPE expression)? RBRACKET
                                                                                   # listComprehensionAtom
  | LBRACKET (expression (COMMA expression)*)? RBRACKET                            # listAtom
  | K_CASE expression? caseAlternative+ (K_ELSE expression)? K_END                 # caseAtom
  | LBRACE (propertyEntry (COMMA propertyEntry)*)? RBRACE                          # mapAtom
  | variable LBRACE (mapProjectionItem (COMMA mapProjectionItem)*)? RBRACE         # mapProjectionAtom
  // reduce(acc = init, x IN list | expr): the converter checks the function's name.
  | functionName LPAREN variable EQ expression COMMA variable K_IN expression PIPE expression RPAREN
                                                                                   # reduceAtom
  // f(x), and namespaced names such as duration.between(a, b).
  | functionName (DOT name)* LPAREN (STAR | K_DISTINCT? expression (COMMA expression)*)? RPAREN
                                                                                   # callAtom
  // EXISTS { [MATCH] pattern [WHERE e] } and COUNT { ... } (the converter checks the name).
  | functionName LBRACE K_MATCH? pattern whereClause? RBRACE                       # subqueryAtom
  | nodePattern (relationship nodePattern)+                                        # patternAtom
  | LPAREN expression RPAREN                                                       # parenAtom
  | variable                                                                       # variableAtom
  ;

// m {.title, .*, rating: r.weight, x}
mapProjectionItem
  : DOT name                                                                       # propertySelector
  | DOT STAR                                                                       # allPropertiesSelector
  | propertyEntry                                                                  # literalEntry
  | variable                                                                       # variableSelector
  ;

literal
  : INTEGER | FLOAT | DURATION | STRING | K_TRUE | K_FALSE | K_NULL
  ;

number
  : INTEGER | FLOAT
  ;

integer
  : INTEGER
  ;

functionName
  : IDENTIFIER | QUOTED_IDENTIFIER | K_MAX
  ;

// Variables: identifiers plus the few keywords that never start or continue an expression.
variable
  : IDENTIFIER | QUOTED_IDENTIFIER | K_NODE | K_PER | K_EF | K_MEAN | K_OVER | K_WALK | K_PAGERANK
  | K_RP3BETA | K_NEXT
  ;

// Labels, edge types, property keys, aliases, vector spaces: any identifier or keyword.
name
  : IDENTIFIER | QUOTED_IDENTIFIER
  | K_AND | K_AS | K_ASC | K_ASCENDING | K_BY | K_CASE | K_CONTAINS | K_DESC | K_DESCENDING
  | K_DISTINCT | K_DIVERSIFY | K_EF | K_ELSE | K_END | K_ENDS | K_EXPLAIN | K_FALSE | K_FOR | K_FROM
  | K_ALL | K_IN | K_IS | K_LIMIT | K_MATCH | K_MAX | K_MEAN | K_MINUS | K_MMR | K_NEAREST | K_NEXT | K_NODE | K_NOT
  | K_NULL | K_OFFSET | K_OPTIONAL | K_OR | K_ORDER | K_OVER | K_PAGERANK | K_PER | K_PROFILE
  | K_RECOMMEND | K_RETURN | K_RP3BETA | K_SCORE | K_SKIP | K_STARTS | K_THEN | K_TO | K_TRUE
  | K_UNION | K_UNWIND | K_WALK | K_WHEN | K_WHERE | K_WITH | K_XOR
  ;

// ---------------------------------------------------------------------------------------------
// Lexer. Keywords first (case-insensitive), then literals, identifiers, symbols.

K_ALL : A L L ;
K_AND : A N D ;
K_AS : A S ;
K_ASC : A S C ;
K_ASCENDING : A S C E N D I N G ;
K_BY : B Y ;
K_CASE : C A S E ;
K_CONTAINS : C O N T A I N S ;
K_DESC : D E S C ;
K_DESCENDING : D E S C E N D I N G ;
K_DISTINCT : D I S T I N C T ;
K_DIVERSIFY : D I V E R S I F Y ;
K_EF : E F ;
K_ELSE : E L S E ;
K_END : E N D ;
K_ENDS : E N D S ;
K_EXPLAIN : E X P L A I N ;
K_FALSE : F A L S E ;
K_FOR : F O R ;
K_FROM : F R O M ;
K_IN : I N ;
K_IS : I S ;
K_LIMIT : L I M I T ;
K_MATCH : M A T C H ;
K_MAX : M A X ;
K_MEAN : M E A N ;
K_MINUS : M I N U S ;
K_MMR : M M R ;
K_NEAREST : N E A R E S T ;
K_NEXT : N E X T ;
K_NODE : N O D E ;
K_NOT : N O T ;
K_NULL : N U L L ;
K_OFFSET : O F F S E T ;
K_OPTIONAL : O P T I O N A L ;
K_OR : O R ;
K_ORDER : O R D E R ;
K_OVER : O V E R ;
K_PAGERANK : P A G E R A N K ;
K_PER : P E R ;
K_PROFILE : P R O F I L E ;
K_RECOMMEND : R E C O M M E N D ;
K_RETURN : R E T U R N ;
K_RP3BETA : R P '3' B E T A ;
K_SCORE : S C O R E ;
K_SKIP : S K I P ;
K_STARTS : S T A R T S ;
K_THEN : T H E N ;
K_TO : T O ;
K_TRUE : T R U E ;
K_UNION : U N I O N ;
K_UNWIND : U N W I N D ;
K_WALK : W A L K ;
K_WHEN : W H E N ;
K_WHERE : W H E R E ;
K_WITH : W I T H ;
K_XOR : X O R ;

// 7d, 12h, 30m, 45s, 250ms and compounds such as 1h30m (units are lower-case only).
DURATION : (DIGITS ('ms' | 'd' | 'h' | 'm' | 's'))+ ;
FLOAT
  : DIGITS '.' DIGITS EXPONENT?
  | '.' DIGITS EXPONENT?
  | DIGITS EXPONENT
  ;
INTEGER : DIGITS ;

STRING
  : '\'' (~['\\\r\n] | '\\' ~[\r\n])* '\''
  | '"' (~["\\\r\n] | '\\' ~[\r\n])* '"'
  ;
// A string missing its closing quote on its line; the parser reports it as a lexical error.
UNTERMINATED_STRING
  : '\'' (~['\\\r\n] | '\\' ~[\r\n])* '\\'?
  | '"' (~["\\\r\n] | '\\' ~[\r\n])* '\\'?
  ;

PARAM : '$' [a-zA-Z0-9_]+ ;
IDENTIFIER : [a-zA-Z_] [a-zA-Z0-9_]* ;
QUOTED_IDENTIFIER : '`' (~[`\r\n] | '``')+ '`' ;

LPAREN : '(' ;
RPAREN : ')' ;
LBRACKET : '[' ;
RBRACKET : ']' ;
LBRACE : '{' ;
RBRACE : '}' ;
COMMA : ',' ;
COLON : ':' ;
SEMI : ';' ;
DOTDOT : '..' ;
DOT : '.' ;
PIPE : '|' ;
STAR : '*' ;
SLASH : '/' ;
PERCENT : '%' ;
PLUS : '+' ;
// `--` followed by a blank or the end of the line starts a comment; `-->`, `--(` are edges.
LINE_COMMENT : ('--' ([ \t] ~[\r\n]*)? | '//' ~[\r\n]*) ('\r'? '\n' | EOF) -> skip ;
BLOCK_COMMENT : '/*' .*? '*/' -> skip ;
DASH : '-' ;
REGEX : '=~' ;
EQ : '=' ;
NEQ : '<>' | '!=' ;
LE : '<=' ;
GE : '>=' ;
LT : '<' ;
GT : '>' ;

WS : [ \t\r\n\f]+ -> skip ;

// Anything else is a lexical error reported by the parser with its position.
ERROR_CHAR : . ;

fragment DIGITS : [0-9]+ ;
fragment EXPONENT : [eE] [+-]? DIGITS ;
fragment A : [aA] ;
fragment B : [bB] ;
fragment C : [cC] ;
fragment D : [dD] ;
fragment E : [eE] ;
fragment F : [fF] ;
fragment G : [gG] ;
fragment H : [hH] ;
fragment I : [iI] ;
fragment J : [jJ] ;
fragment K : [kK] ;
fragment L : [lL] ;
fragment M : [mM] ;
fragment N : [nN] ;
fragment O : [oO] ;
fragment P : [pP] ;
fragment Q : [qQ] ;
fragment R : [rR] ;
fragment S : [sS] ;
fragment T : [tT] ;
fragment U : [uU] ;
fragment V : [vV] ;
fragment W : [wW] ;
fragment X : [xX] ;
fragment Y : [yY] ;
fragment Z : [zZ] ;
