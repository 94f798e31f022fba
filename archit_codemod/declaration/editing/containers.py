"""Rewrite the construction expression of a ``ModuleList``/``Sequential``/``ModuleDict`` item by item.

Pure functions from an expression to an expression: planning uses them to compute the new value of the
statement that builds a container whose items changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import libcst as cst
import libcst.matchers as m

ItemExpression = Callable[[str, cst.BaseExpression], cst.BaseExpression]
"""``(item key, original item expression) -> new item expression`` (the original when unchanged)."""


def rewrite_container(
    expression: cst.BaseExpression,
    keys: Sequence[str],
    item_expression: ItemExpression,
    *,
    items_as_arguments: bool = False,
    appended: Sequence[cst.BaseExpression] = (),
    dropped: int = 0,
    removed_keys: Sequence[str] = (),
    appended_keys: Sequence[str] = (),
) -> cst.BaseExpression | None:
    """Rewrite the items of a container construction expression; ``None`` when its shape is not one of:

    - ``nn.ModuleList([ELT for i in range(n)])`` (or a generator): the comprehension is kept; if every item
      gets the same expression it replaces ``ELT``, otherwise the element picks per index
      (``A(i) if i == 3 else ELT``), through ``enumerate`` when the iterable is not ``range(n)``;
      ``appended`` items follow it (``[...] + [New()]``), ``dropped`` items are sliced off its end (``[...][:-1]``);
    - ``nn.ModuleList([a, b, c])``, ``nn.Sequential(a, b, c)``: each listed item is rewritten, the last
      ``dropped`` ones removed, ``appended`` ones added;
    - ``nn.ModuleDict({"k": v, ...})``: each value is rewritten by key, ``removed_keys`` go, ``appended`` items
      are added under ``appended_keys``;
    - ``nn.ModuleDict({k: V for k in names})``: the value picks per key (``A() if k == "b" else V``).

    ``keys`` are the keys of the items the original expression builds and that are kept, in order. The items are
    the call's arguments only with ``items_as_arguments`` (an ``nn.Sequential``): ``nn.ModuleList(layers)`` with one
    item holds a list, not the item.
    """
    if not isinstance(expression, cst.Call) or not expression.args:
        return None
    first = expression.args[0]
    value = first.value
    single = len(expression.args) == 1 and first.star == "" and first.keyword is None
    if (
        first.star in ("", "*")
        and first.keyword is None
        and isinstance(value, cst.ListComp | cst.GeneratorExp)
    ):
        return _rewrite_comprehension_call(expression, keys, item_expression, appended, dropped)
    if single and isinstance(value, cst.List | cst.Tuple) and len(value.elements) == len(keys) + dropped:
        return _rewrite_listed(expression, keys, item_expression, appended)
    if single and isinstance(value, cst.Dict):
        return _rewrite_dict(expression, value, keys, item_expression, appended, removed_keys, appended_keys)
    if single and isinstance(value, cst.DictComp) and not appended and not removed_keys:
        new_value = _rewrite_dict_comprehension(value, keys, item_expression)
        return (
            None if new_value is None else expression.with_changes(args=[first.with_changes(value=new_value)])
        )
    if (
        items_as_arguments
        and len(expression.args) == len(keys) + dropped
        and all(a.star == "" and a.keyword is None for a in expression.args)
    ):
        return _rewrite_arguments(expression, keys, item_expression, appended)
    return None


def _rewrite_comprehension_call(
    expression: cst.Call,
    keys: Sequence[str],
    item_expression: ItemExpression,
    appended: Sequence[cst.BaseExpression],
    dropped: int,
) -> cst.Call | None:
    """``nn.ModuleList([ELT for i in range(n)])``: the element rewritten, ``[:-dropped]``, ``+ [appended]``."""
    first = expression.args[0]
    value = first.value
    if len(expression.args) != 1 or ((appended or dropped) and isinstance(value, cst.GeneratorExp)):
        return None
    new_value = _rewrite_comprehension(value, keys, item_expression)
    if new_value is None:
        return None
    if dropped:
        up_to = cst.Slice(lower=None, upper=cst.UnaryOperation(cst.Minus(), cst.Integer(str(dropped))))
        new_value = cst.Subscript(new_value, [cst.SubscriptElement(up_to)])
    new_first = first.with_changes(value=new_value)
    if appended and first.star == "*":
        return expression.with_changes(args=_with_commas_like([new_first, *map(cst.Arg, appended)], first))
    if appended:
        extra = cst.List(_with_commas_like([cst.Element(e) for e in appended], None))
        new_first = first.with_changes(value=cst.BinaryOperation(new_value, cst.Add(), extra))
    return expression.with_changes(args=[new_first])


def _rewrite_listed(
    expression: cst.Call,
    keys: Sequence[str],
    item_expression: ItemExpression,
    appended: Sequence[cst.BaseExpression],
) -> cst.Call | None:
    """``nn.ModuleList([a, b, c])``: each kept item rewritten, the dropped ones gone, ``appended`` added."""
    first = expression.args[0]
    value = first.value
    if any(isinstance(e, cst.StarredElement) for e in value.elements) or (
        appended and isinstance(value, cst.Tuple)
    ):
        return None
    elements = [
        e.with_changes(value=item_expression(k, e.value)) for k, e in zip(keys, value.elements, strict=False)
    ]
    elements += [cst.Element(e) for e in appended]
    last = value.elements[-1] if value.elements else None
    new_value = value.with_changes(elements=_with_commas_like(elements, last))
    return expression.with_changes(args=[first.with_changes(value=new_value)])


def _rewrite_arguments(
    expression: cst.Call,
    keys: Sequence[str],
    item_expression: ItemExpression,
    appended: Sequence[cst.BaseExpression],
) -> cst.Call:
    """``nn.Sequential(a, b, c)``: each kept argument rewritten, the dropped ones gone, ``appended`` added."""
    args = [
        a.with_changes(value=item_expression(k, a.value)) for k, a in zip(keys, expression.args, strict=False)
    ]
    args += [cst.Arg(e) for e in appended]
    return expression.with_changes(args=_with_commas_like(args, expression.args[-1]))


def _rewrite_dict(
    expression: cst.Call,
    value: cst.Dict,
    keys: Sequence[str],
    item_expression: ItemExpression,
    appended: Sequence[cst.BaseExpression],
    removed_keys: Sequence[str],
    appended_keys: Sequence[str],
) -> cst.Call | None:
    elements = []
    seen = []
    for element in value.elements:
        if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
            return None
        key = element.key.evaluated_value
        if key in removed_keys:
            continue
        if key not in keys:
            return None
        seen.append(key)
        elements.append(element.with_changes(value=item_expression(key, element.value)))
    if sorted(seen) != sorted(keys) or len(appended) != len(appended_keys):
        return None
    elements += [
        cst.DictElement(cst.SimpleString(_string_literal(key)), item)
        for key, item in zip(appended_keys, appended, strict=True)
    ]
    last = value.elements[-1] if value.elements else None
    new_value = value.with_changes(elements=_with_commas_like(elements, last))
    return expression.with_changes(args=[expression.args[0].with_changes(value=new_value)])


def _string_literal(text: str) -> str:
    """A double-quoted string literal (the style of ruff and black) for ``text``."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        literal = '"' + literal[1:-1].replace("\\'", "'") + '"'
    return literal


def _with_commas_like(items: list, last_original: cst.CSTNode | None) -> list:
    """Separate ``items`` by commas, keeping existing ones; the last keeps ``last_original``'s (trailing) comma."""
    if not items:
        return []
    separated = [
        item
        if isinstance(item.comma, cst.Comma)
        else item.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        for item in items[:-1]
    ]
    last_comma = last_original.comma if last_original is not None else cst.MaybeSentinel.DEFAULT
    return [*separated, items[-1].with_changes(comma=last_comma)]


def _pick(
    keys: Sequence[str],
    per_key: list[cst.BaseExpression],
    original: cst.BaseExpression,
    test: Callable[[list[str]], cst.BaseExpression],
) -> cst.BaseExpression:
    """One expression choosing each key's item: ``A if <test of A's keys> else ... else <most common>``."""
    codes = [_code(e) for e in per_key]
    # The expression shared by most items is the final `else`; the original element wins ties.
    default = max(dict.fromkeys(codes), key=lambda c: (codes.count(c), c == _code(original)))
    choice = per_key[codes.index(default)]
    for code in reversed(list(dict.fromkeys(c for c in codes if c != default))):
        picked = [k for k, c in zip(keys, codes, strict=True) if c == code]
        choice = cst.IfExp(
            test=test(picked), body=_parenthesize_ifexp(per_key[codes.index(code)]), orelse=choice
        )
    return choice


def _rewrite_comprehension(
    comprehension: cst.ListComp | cst.GeneratorExp, keys: Sequence[str], item_expression: ItemExpression
) -> cst.ListComp | cst.GeneratorExp | None:
    loop = comprehension.for_in
    if loop.inner_for_in is not None or loop.ifs or loop.asynchronous is not None:
        return None
    element = comprehension.elt
    if not all(key.isdigit() for key in keys):
        return None
    per_key = [item_expression(key, element) for key in keys]
    if len({_code(e) for e in per_key}) <= 1:
        return comprehension.with_changes(elt=per_key[0]) if per_key else comprehension
    index, loop = _index_variable(loop, element, per_key)
    choice = _pick(keys, per_key, element, lambda picked: _index_test(index, [int(k) for k in picked]))
    return comprehension.with_changes(elt=choice, for_in=loop)


def _rewrite_dict_comprehension(
    comprehension: cst.DictComp, keys: Sequence[str], item_expression: ItemExpression
) -> cst.DictComp | None:
    loop = comprehension.for_in
    if loop.inner_for_in is not None or loop.ifs or loop.asynchronous is not None:
        return None
    key = comprehension.key
    if not isinstance(key, cst.Name):
        return None
    per_key = [item_expression(k, comprehension.value) for k in keys]
    if len({_code(e) for e in per_key}) <= 1:
        return comprehension.with_changes(value=per_key[0]) if per_key else comprehension

    def test(picked: list[str]) -> cst.BaseExpression:
        if len(picked) == 1:
            return cst.parse_expression(f"{key.value} == {_string_literal(picked[0])}")
        return cst.parse_expression(f"{key.value} in ({', '.join(_string_literal(k) for k in picked)})")

    return comprehension.with_changes(value=_pick(keys, per_key, comprehension.value, test))


def _index_variable(
    loop: cst.CompFor, element: cst.BaseExpression, choices: Sequence[cst.BaseExpression] = ()
) -> tuple[str, cst.CompFor]:
    """The name holding the item index: the loop variable of ``for i in range(n)``, else via ``enumerate``.

    A new name is none of those ``element`` and the new ``choices`` use (a nested comprehension's own index).
    """
    is_plain_range = m.matches(
        loop,
        m.CompFor(target=m.Name(), iter=m.Call(func=m.Name("range"), args=[m.Arg(keyword=None, star="")])),
    )
    used = {n.value for node in (element, loop, *choices) for n in m.findall(node, m.Name())}
    index = next(name for name in ("index", "item_index", "_index") if name not in used)
    if (
        is_plain_range
        and loop.target.value == "_"
        and "_" not in used - {"_"}
        and not m.findall(element, m.Name("_"))
    ):
        # `for _ in range(n)`: the index was unused so far; give it a name.
        return index, loop.with_changes(target=cst.Name(index))
    if is_plain_range:
        return loop.target.value, loop
    counted = m.matches(
        loop,
        m.CompFor(
            target=m.Tuple(elements=[m.Element(m.Name()), m.Element()]),
            iter=m.Call(func=m.Name("enumerate"), args=[m.Arg(keyword=None, star="")]),
        ),
    )
    if counted and loop.target.elements[0].value.value != "_":
        return loop.target.elements[0].value.value, loop  # `for i, x in enumerate(xs)` counts already
    inner_target = loop.target
    if isinstance(inner_target, cst.Tuple) and not inner_target.lpar:
        # `for a, b in pairs` becomes `for index, (a, b) in enumerate(pairs)`, not `index, a, b`.
        inner_target = inner_target.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    target = cst.Tuple(
        [
            cst.Element(cst.Name(index), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
            cst.Element(inner_target),
        ],
        lpar=[],
        rpar=[],
    )
    return index, loop.with_changes(target=target, iter=cst.Call(cst.Name("enumerate"), [cst.Arg(loop.iter)]))


def _index_test(index: str, picked: list[int]) -> cst.BaseExpression:
    if len(picked) == 1:
        return cst.parse_expression(f"{index} == {picked[0]}")
    return cst.parse_expression(f"{index} in ({', '.join(map(str, picked))})")


def _parenthesize_ifexp(expression: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(expression, cst.IfExp | cst.Lambda) and not expression.lpar:
        return expression.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return expression


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)
