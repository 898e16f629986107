"""Parse lme4-style mixed-model formulas.

A formula has a response, a fixed part in patsy syntax and random terms in
lme4 syntax, all joined by ``+`` on the right-hand side::

    degradation ~ syntactic + log_size + (1 + syntactic | task) + (1 | language)

Random terms
------------
``(1 | g)``
    random intercept per level of ``g``.
``(x | g)``, ``(1 + x | g)``
    correlated random intercept and slope of ``x`` (lme4 adds the intercept
    unless it is removed).
``(0 + x | g)``, ``(-1 + x | g)``
    random slope only.
``(1 + x || g)``, ``(x || g)``
    uncorrelated: expands to ``(1 | g) + (0 + x | g)``.
``(1 | a:b)``
    grouping by the combination of ``a`` and ``b``.
``(1 | a/b)``
    nested: expands to ``(1 | a) + (1 | a:b)``.

The expression left of the bar may contain only ``1``, ``0``, ``-1`` and
numeric column names (no functions or categorical slopes); the fixed part may
use anything patsy accepts.  Every name is checked against the data's columns
and an unknown name raises a one-line :class:`ValueError` with a "did you
mean" suggestion.

How the parsed terms are mapped onto statsmodels' ``MixedLM`` is described in
:mod:`xdist.stats.mixed` and ``docs/mixed-models.md``.
"""

from __future__ import annotations

import builtins
import difflib
import io
import keyword
import re
import tokenize
from dataclasses import dataclass
from typing import Iterable, Sequence

__all__ = ["RandomTerm", "MixedFormula", "parse_formula"]

#: Names that patsy (and numpy through ``np.``) provide inside a fixed part;
#: they are not column names.
PATSY_NAMES = frozenset(
    {"C", "I", "Q", "Treatment", "Sum", "Poly", "Helmert", "Diff", "center",
     "standardize", "scale", "bs", "cr", "cc", "te", "np", "numpy", "log",
     "exp", "sqrt", "abs"}
)

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z_0-9.]*$")


@dataclass(frozen=True)
class RandomTerm:
    """One random-effects term ``(terms | group)``.

    Attributes
    ----------
    group : str
        The grouping factor as written (``"task"``, ``"a:b"``).
    factors : tuple of str
        The columns whose combination defines the groups.
    intercept : bool
        Whether the term has a random intercept.
    slopes : tuple of str
        Numeric columns with random slopes.
    correlated : bool
        False for terms that came from ``||`` (their effects are independent).
    text : str
        The term as written in the formula.
    """

    group: str
    factors: tuple
    intercept: bool
    slopes: tuple
    correlated: bool
    text: str

    @property
    def columns(self) -> tuple:
        """Names of the random effects: ``"Intercept"`` then the slopes."""
        return (("Intercept",) if self.intercept else ()) + tuple(self.slopes)


@dataclass(frozen=True)
class MixedFormula:
    """A parsed mixed-model formula.

    Attributes
    ----------
    response : str
        Left-hand side (a column name or a patsy expression).
    fixed : str
        Right-hand side of the fixed part in patsy syntax (``"1"`` when only
        the intercept).
    random : tuple of RandomTerm
        Random terms after expanding ``||`` and ``/``.
    text : str
        The formula as given.
    """

    response: str
    fixed: str
    random: tuple
    text: str

    @property
    def fixed_formula(self) -> str:
        """The patsy formula of the fixed part, ``response ~ fixed``."""
        return f"{self.response} ~ {self.fixed}"

    @property
    def grouping_factors(self) -> tuple:
        """Grouping factors in order of first appearance."""
        seen: list = []
        for t in self.random:
            if t.group not in seen:
                seen.append(t.group)
        return tuple(seen)


def _fail(formula: str, what: str) -> ValueError:
    return ValueError(f"formula={formula!r}: {what}")


def _split_top(text: str, formula: str, ops: str = "+-") -> list:
    """Split ``text`` at top-level ``+``/``-``; return [(sign, piece), ...]."""
    pieces, depth, cur, sign = [], 0, [], "+"
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise _fail(formula, "unbalanced parentheses: a ')' without its '('")
        if depth == 0 and ch in ops:
            # a '-' or '+' right after an operator (or at the start) is a sign
            prev = "".join(cur).strip()
            if prev == "" and ch == "-" and not pieces and sign == "+":
                sign = "-"
                continue
            pieces.append((sign, prev))
            sign, cur = ch, []
            continue
        cur.append(ch)
    if depth != 0:
        raise _fail(formula, "unbalanced parentheses: a '(' is never closed")
    pieces.append((sign, "".join(cur).strip()))
    return pieces


def _is_wrapped(piece: str) -> bool:
    """True when ``piece`` is one parenthesised group ``( ... )``."""
    if not (piece.startswith("(") and piece.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(piece):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(piece) - 1:
            return False
    return True


def _has_bar(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "|":
            return True
    return False


def _suggest(name: str, columns: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(columns), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in columns}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    shown = ", ".join(repr(c) for c in list(columns)[:30])
    more = "" if len(columns) <= 30 else f", ... ({len(columns)} in all)"
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}columns are {shown}{more}"


def _check_name(name: str, columns, formula: str, where: str) -> None:
    if columns is not None and name not in columns:
        raise _fail(formula, f"unknown column {name!r} in {where}; {_suggest(name, columns)}")


def _expression_names(expr: str, formula: str) -> list:
    """Names in a patsy expression that must be columns (not functions/modules)."""
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(expr).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise _fail(formula, f"cannot read {expr!r}: {exc}") from None
    names = []
    for i, tok in enumerate(toks):
        if tok.type != tokenize.NAME or keyword.iskeyword(tok.string):
            continue
        nxt = toks[i + 1].string if i + 1 < len(toks) else ""
        prev = toks[i - 1].string if i > 0 else ""
        if nxt in ("(", ".") or prev == "." or nxt == "=":
            continue
        if tok.string in PATSY_NAMES or hasattr(builtins, tok.string):
            continue
        names.append(tok.string)
    return names


def _parse_random(piece: str, formula: str, columns) -> list:
    inner = piece[1:-1].strip()
    depth, bars = 0, []
    i = 0
    while i < len(inner):
        ch = inner[i]
        depth += ch == "("
        depth -= ch == ")"
        if ch == "|" and depth == 0:
            double = i + 1 < len(inner) and inner[i + 1] == "|"
            bars.append((i, double))
            i += 2 if double else 1
            continue
        i += 1
    if len(bars) != 1:
        raise _fail(formula, f"malformed random term {piece!r}: write '(terms | group)' "
                             "with exactly one '|' (or '||' for uncorrelated effects)")
    pos, double = bars[0]
    lhs = inner[:pos].strip()
    rhs = inner[pos + (2 if double else 1):].strip()
    if not lhs:
        raise _fail(formula, f"malformed random term {piece!r}: nothing left of the bar; "
                             "write '(1 | group)' for a random intercept")
    if not rhs:
        raise _fail(formula, f"malformed random term {piece!r}: no grouping factor right "
                             "of the bar")

    intercept, slopes = True, []
    for sign, tok in _split_top(lhs, formula):
        if tok == "":
            raise _fail(formula, f"malformed random term {piece!r}: empty term in {lhs!r}")
        if tok in ("0", "1"):
            if sign == "-" or tok == "0":
                if sign == "-" and tok == "0":
                    raise _fail(formula, f"malformed random term {piece!r}: '-0' is not "
                                         "accepted")
                intercept = False
            else:
                intercept = True
            continue
        if sign == "-":
            raise _fail(formula, f"malformed random term {piece!r}: only the intercept "
                                 "can be removed ('0 +' or '-1')")
        if not _IDENT.match(tok):
            raise _fail(formula, f"malformed random term {piece!r}: {tok!r} is not a "
                                 "column name; random slopes take plain numeric columns "
                                 "(make a new column for transformed variables)")
        _check_name(tok, columns, formula, f"random term {piece!r}")
        if tok not in slopes:
            slopes.append(tok)
    if not intercept and not slopes:
        raise _fail(formula, f"malformed random term {piece!r}: it has no effects "
                             "(no intercept and no slope)")

    # grouping factor: a, a:b, or a/b (nesting)
    if "/" in rhs:
        parts = [p.strip() for p in rhs.split("/")]
        groups = [":".join(parts[: k + 1]) for k in range(len(parts))]
    else:
        groups = [rhs]
    out = []
    for g in groups:
        factors = tuple(f.strip() for f in g.split(":"))
        for f in factors:
            if not _IDENT.match(f):
                raise _fail(formula, f"malformed random term {piece!r}: grouping factor "
                                     f"{f!r} is not a column name")
            _check_name(f, columns, formula, f"random term {piece!r}")
        gname = ":".join(factors)
        if double:
            effects = (["Intercept"] if intercept else []) + slopes
            for e in effects:
                out.append(RandomTerm(
                    group=gname, factors=factors, intercept=e == "Intercept",
                    slopes=() if e == "Intercept" else (e,), correlated=False,
                    text=f"({'1' if e == 'Intercept' else '0 + ' + e} | {gname})"))
        else:
            out.append(RandomTerm(group=gname, factors=factors, intercept=intercept,
                                  slopes=tuple(slopes), correlated=True,
                                  text=piece if len(groups) == 1 else f"({lhs} | {gname})"))
    return out


def parse_formula(formula: str, columns: Iterable[str] | None = None) -> MixedFormula:
    """Parse an lme4-style formula into its fixed part and random terms.

    Parameters
    ----------
    formula : str
        ``response ~ fixed terms + (random | group) + ...``.
    columns : iterable of str, optional
        Column names of the data; when given every name in the formula is
        checked against them.

    Returns
    -------
    MixedFormula

    Raises
    ------
    ValueError
        A malformed formula or random term, or an unknown column (with a
        "did you mean" suggestion).  The message is one line.

    Examples
    --------
    >>> f = parse_formula("y ~ x + (1 + x | task) + (1 | language)")
    >>> f.fixed, [(t.group, t.columns) for t in f.random]
    ('x', [('task', ('Intercept', 'x')), ('language', ('Intercept',))])
    >>> [t.text for t in parse_formula("y ~ x + (x || task)").random]
    ['(1 | task)', '(0 + x | task)']
    """
    if not isinstance(formula, str) or not formula.strip():
        raise ValueError(f"formula={formula!r} is not accepted: pass a string such as "
                         "'degradation ~ distance + (1 | language)'")
    cols = None if columns is None else [str(c) for c in columns]
    text = " ".join(formula.split())
    if text.count("~") != 1:
        raise _fail(formula, "write exactly one '~' between the response and the terms")
    lhs, rhs = (s.strip() for s in text.split("~"))
    if not lhs:
        raise _fail(formula, "no response left of '~'")
    if not rhs:
        raise _fail(formula, "no terms right of '~'")
    for name in _expression_names(lhs, formula):
        _check_name(name, cols, formula, "the response")

    fixed_parts, random = [], []
    for sign, piece in _split_top(rhs, formula):
        if piece == "":
            raise _fail(formula, "empty term (two operators in a row, or a trailing '+')")
        if _has_bar(piece):
            if not _is_wrapped(piece):
                raise _fail(formula, f"malformed random term {piece!r}: a random term must "
                                     "be a parenthesised '(terms | group)' joined by '+'")
            if sign == "-":
                raise _fail(formula, f"a random term cannot be subtracted: {piece!r}")
            random.extend(_parse_random(piece, formula, cols))
        else:
            if _is_wrapped(piece) and re.search(r"[\w.)]\s+[\w.(]", piece[1:-1]):
                raise _fail(formula, f"malformed random term {piece!r}: write '(terms | "
                                     "group)', with '|' between the terms and the group")
            for name in _expression_names(piece, formula):
                _check_name(name, cols, formula, "the fixed part")
            fixed_parts.append((sign, piece))
    if not random:
        raise _fail(formula, "no random term: add one such as '(1 | language)' (for a "
                             "model without random effects use ordinary regression)")
    fixed = ""
    for sign, piece in fixed_parts:
        if not fixed:
            fixed = f"-{piece}" if sign == "-" else piece
        else:
            fixed += f" {sign} {piece}"
    fixed = fixed or "1"
    return MixedFormula(response=lhs, fixed=fixed, random=tuple(random), text=formula)
