"""Conversion between sympy expressions and libSBML math ASTs."""

from __future__ import annotations

import math

import sympy


from ._common import AVOGADRO, SbmlError, TIME, UnsupportedSbmlError, _libsbml

# ---------------------------------------------------------------------------------------------
# math: sympy <-> libSBML AST
# ---------------------------------------------------------------------------------------------

def _ast_from_sympy(expr):
    """libSBML ASTNode for a sympy expression (exact floats, no string round trip)."""
    ls = _libsbml()
    expr = sympy.sympify(expr)

    def node(kind, *children):
        n = ls.ASTNode(kind)
        for c in children:
            n.addChild(c)
        return n

    def leaf(kind, setter, *args):
        n = ls.ASTNode(kind)
        getattr(n, setter)(*args)
        return n

    def build(e):
        if e == TIME:
            return leaf(ls.AST_NAME_TIME, "setName", "time")
        if e.is_Symbol:
            return leaf(ls.AST_NAME, "setName", e.name)
        if e.is_Integer:
            return leaf(ls.AST_INTEGER, "setValue", int(e))
        if e.is_Rational:
            return leaf(ls.AST_RATIONAL, "setValue", int(e.p), int(e.q))
        if e.is_Number:
            return leaf(ls.AST_REAL, "setValue", float(e))
        if e.is_Add:
            return node(ls.AST_PLUS, *(build(a) for a in e.args))
        if e.is_Mul:
            num, den = [], []
            for a in e.args:
                if a.is_Pow and a.exp.is_Number and a.exp < 0:
                    den.append(a.base ** -a.exp)
                elif a.is_Rational and not a.is_Integer and a.p == 1:
                    den.append(sympy.Integer(a.q))
                else:
                    num.append(a)
            if not num:
                top = build(sympy.Integer(1))
            elif len(num) == 1:
                top = build(num[0])
            else:
                top = node(ls.AST_TIMES, *(build(a) for a in num))
            if not den:
                return top
            bottom = build(den[0]) if len(den) == 1 else node(ls.AST_TIMES, *(build(a) for a in den))
            return node(ls.AST_DIVIDE, top, bottom)
        if e.is_Pow:
            if e.exp == -1:
                return node(ls.AST_DIVIDE, build(sympy.Integer(1)), build(e.base))
            if e.exp == sympy.Rational(1, 2):
                return node(ls.AST_FUNCTION_ROOT, build(sympy.Integer(2)), build(e.base))
            if e.exp.is_Number and e.exp < 0:
                return node(ls.AST_DIVIDE, build(sympy.Integer(1)), build(e.base ** -e.exp))
            return node(ls.AST_POWER, build(e.base), build(e.exp))
        simple = {sympy.exp: ls.AST_FUNCTION_EXP, sympy.log: ls.AST_FUNCTION_LN,
                  sympy.Abs: ls.AST_FUNCTION_ABS, sympy.Max: ls.AST_FUNCTION_MAX,
                  sympy.Min: ls.AST_FUNCTION_MIN, sympy.sin: ls.AST_FUNCTION_SIN,
                  sympy.cos: ls.AST_FUNCTION_COS, sympy.tanh: ls.AST_FUNCTION_TANH}
        if e.func in simple:
            return node(simple[e.func], *(build(a) for a in e.args))
        rel = {sympy.GreaterThan: ls.AST_RELATIONAL_GEQ, sympy.StrictGreaterThan: ls.AST_RELATIONAL_GT,
               sympy.LessThan: ls.AST_RELATIONAL_LEQ, sympy.StrictLessThan: ls.AST_RELATIONAL_LT,
               sympy.Equality: ls.AST_RELATIONAL_EQ, sympy.Unequality: ls.AST_RELATIONAL_NEQ}
        if e.func in rel:
            return node(rel[e.func], build(e.lhs), build(e.rhs))
        if isinstance(e, sympy.Piecewise):
            children = []
            for value, cond in e.args:
                children.append(build(value))
                if cond is not sympy.true:
                    children.append(build(cond))
            return node(ls.AST_FUNCTION_PIECEWISE, *children)
        if e is sympy.true or e is sympy.false:
            return ls.ASTNode(ls.AST_CONSTANT_TRUE if e is sympy.true else ls.AST_CONSTANT_FALSE)
        raise SbmlError(f"cannot write {e.func.__name__} ({e}) as SBML math")

    return build(expr)


def _math_to_sympy(ast, symbols: dict, element: str):
    """sympy expression of a libSBML AST (function definitions must be expanded already)."""
    ls = _libsbml()
    if ast is None:
        raise SbmlError(f"'{element}' has no math")

    def sym(name):
        if name not in symbols:
            symbols[name] = sympy.Symbol(name)
        return symbols[name]

    def conv(n):
        t = n.getType()
        kids = [n.getChild(i) for i in range(n.getNumChildren())]
        if t == ls.AST_INTEGER:
            return sympy.Integer(n.getInteger())
        if t in (ls.AST_REAL, ls.AST_REAL_E):
            v = n.getReal()
            return sympy.Float(v) if math.isfinite(v) else (sympy.oo if v > 0 else -sympy.oo)
        if t == ls.AST_RATIONAL:
            return sympy.Rational(n.getNumerator(), n.getDenominator())
        if t == ls.AST_NAME:
            return sym(n.getName())
        if t == ls.AST_NAME_TIME:
            return TIME
        if t == ls.AST_NAME_AVOGADRO:
            return sympy.Float(AVOGADRO)
        if t == ls.AST_CONSTANT_E:
            return sympy.E
        if t == ls.AST_CONSTANT_PI:
            return sympy.pi
        if t == ls.AST_CONSTANT_TRUE:
            return sympy.true
        if t == ls.AST_CONSTANT_FALSE:
            return sympy.false
        if t == ls.AST_PLUS:
            return sympy.Add(*(conv(k) for k in kids)) if kids else sympy.Integer(0)
        if t == ls.AST_TIMES:
            return sympy.Mul(*(conv(k) for k in kids)) if kids else sympy.Integer(1)
        if t == ls.AST_MINUS:
            return -conv(kids[0]) if len(kids) == 1 else conv(kids[0]) - conv(kids[1])
        if t == ls.AST_DIVIDE:
            return conv(kids[0]) / conv(kids[1])
        if t in (ls.AST_POWER, ls.AST_FUNCTION_POWER):
            return conv(kids[0]) ** conv(kids[1])
        if t == ls.AST_FUNCTION_ROOT:
            if len(kids) == 1:
                return sympy.sqrt(conv(kids[0]))
            return conv(kids[1]) ** (1 / conv(kids[0]))
        if t == ls.AST_FUNCTION_EXP:
            return sympy.exp(conv(kids[0]))
        if t == ls.AST_FUNCTION_LN:
            return sympy.log(conv(kids[0]))
        if t == ls.AST_FUNCTION_LOG:
            if len(kids) == 1:
                return sympy.log(conv(kids[0]), 10)
            return sympy.log(conv(kids[1]), conv(kids[0]))
        unary = {ls.AST_FUNCTION_ABS: sympy.Abs, ls.AST_FUNCTION_SIN: sympy.sin, ls.AST_FUNCTION_COS: sympy.cos,
                 ls.AST_FUNCTION_TAN: sympy.tan, ls.AST_FUNCTION_TANH: sympy.tanh,
                 ls.AST_FUNCTION_SINH: sympy.sinh, ls.AST_FUNCTION_COSH: sympy.cosh,
                 ls.AST_FUNCTION_ARCTAN: sympy.atan}
        if t in unary:
            return unary[t](conv(kids[0]))
        if t == ls.AST_FUNCTION_MAX:
            return sympy.Max(*(conv(k) for k in kids))
        if t == ls.AST_FUNCTION_MIN:
            return sympy.Min(*(conv(k) for k in kids))
        rel = {ls.AST_RELATIONAL_GEQ: sympy.Ge, ls.AST_RELATIONAL_GT: sympy.Gt, ls.AST_RELATIONAL_LEQ: sympy.Le,
               ls.AST_RELATIONAL_LT: sympy.Lt, ls.AST_RELATIONAL_EQ: sympy.Eq, ls.AST_RELATIONAL_NEQ: sympy.Ne}
        if t in rel:
            if len(kids) != 2:
                raise UnsupportedSbmlError(f"relational operator with {len(kids)} arguments", element)
            return rel[t](conv(kids[0]), conv(kids[1]), evaluate=False)
        logic = {ls.AST_LOGICAL_AND: sympy.And, ls.AST_LOGICAL_OR: sympy.Or, ls.AST_LOGICAL_XOR: sympy.Xor}
        if t in logic:
            return logic[t](*(conv(k) for k in kids))
        if t == ls.AST_LOGICAL_NOT:
            return sympy.Not(conv(kids[0]))
        if t == ls.AST_FUNCTION_PIECEWISE:
            pieces = []
            for i in range(0, len(kids) - 1, 2):
                pieces.append((conv(kids[i]), conv(kids[i + 1])))
            if len(kids) % 2:
                pieces.append((conv(kids[-1]), sympy.true))
            else:
                pieces.append((sympy.nan, sympy.true))
            return sympy.Piecewise(*pieces)
        if t == ls.AST_FUNCTION_DELAY:
            raise UnsupportedSbmlError("delay() (delay differential equation)", element)
        if t == ls.AST_FUNCTION_RATE_OF:
            raise UnsupportedSbmlError("rateOf()", element)
        if t == ls.AST_FUNCTION:
            raise UnsupportedSbmlError(f"call of undefined function '{n.getName()}'", element)
        raise UnsupportedSbmlError(f"MathML element '{n.getName() or ''}' (libSBML AST type {t})", element)

    return conv(ast)


