"""The LibCST rewrites applied to a copied ``__init__``, one small transformer per rewrite.

Each transformer changes only the nodes it matches, so every other statement, comment and blank line of
the copied ``__init__`` stays as written. They work on a ``FunctionDef`` (or any node below it) and never
descend into nested function or class definitions, whose ``self`` and ``super()`` mean something else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import libcst as cst
import libcst.matchers as m


class _InitBodyTransformer(cst.CSTTransformer):
    """Visits the body of one ``__init__`` without descending into nested definitions.

    A plain ``CSTTransformer`` with ``m.matches`` tests: one is built per rewritten instance, and a
    ``MatcherDecoratableTransformer`` costs ~30 ms to construct (it inspects all of its attributes).
    """

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._depth += 1
        return self._depth == 1

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._depth -= 1
        return updated_node

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def self_attribute(self_name: str, attribute: str | Sequence[str]) -> m.Attribute:
    """Matches ``self.<attribute>`` (any of several spellings when given a sequence)."""
    if isinstance(attribute, str):
        return m.Attribute(value=m.Name(self_name), attr=m.Name(attribute))
    return m.Attribute(value=m.Name(self_name), attr=m.OneOf(*[m.Name(a) for a in attribute]))


_ZERO_ARGUMENT_SUPER = m.Call(func=m.Name("super"), args=[])


class SuperCallRewriter(_InitBodyTransformer):
    """``super()`` becomes ``super(<Definer>, self)``.

    The copied ``__init__`` runs in a subclass of ``<Definer>``: the zero-argument form would call
    ``<Definer>.__init__`` itself, running the original body before the copy. The explicit form skips it.

        super().__init__(config)  ->  super(RobertaEmbeddings, self).__init__(config)
    """

    def __init__(self, definer_name: str, self_name: str = "self") -> None:
        super().__init__()
        self.definer_name = definer_name
        self.self_name = self_name

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if not m.matches(updated_node, _ZERO_ARGUMENT_SUPER):
            return updated_node
        return updated_node.with_changes(
            args=[
                cst.Arg(
                    cst.Name(self.definer_name), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                ),
                cst.Arg(cst.Name(self.self_name)),
            ]
        )


class ReplaceAttributeValue(_InitBodyTransformer):
    """Rewrite the value assigned to ``self.<attribute>`` with ``make_value(original value)``.

    Handles ``self.x = v``, ``self.x: T = v`` and the element of ``self.x, self.y = v, w``, wherever the
    statement is (inside ``if``/``for``/``with`` blocks too). ``make_value`` may return ``None`` to leave a
    value alone. ``rewritten`` counts the values changed; ``unsupported`` counts assignments to the
    attribute whose value cannot be singled out (``self.x, self.y = pair``, ``self.x = self.y = v``).

        self.query = nn.Linear(config.hidden_size, self.all_head_size)
        ->  self.query = LoRALinear(nn.Linear(config.hidden_size, self.all_head_size), r=8)
    """

    def __init__(
        self,
        attribute: str,
        make_value: Callable[[cst.BaseExpression], cst.BaseExpression | None],
        self_name: str = "self",
        only: set[int] | None = None,
    ) -> None:
        super().__init__()
        self.target = self_attribute(self_name, attribute)
        self.make_value = make_value
        self.only = only
        self.rewritten = 0
        self.unsupported = 0
        self._occurrence = -1

    def _replace(self, value: cst.BaseExpression) -> cst.BaseExpression:
        if self.only is not None and self._occurrence not in self.only:
            return value
        new_value = self.make_value(value)
        if new_value is None:
            self.unsupported += 1
            return value
        self.rewritten += 1
        return new_value

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        if self._depth != 1:
            return updated_node
        targets = [t.target for t in updated_node.targets]
        if any(m.findall(t, self.target) for t in targets):
            self._occurrence += 1
        if len(targets) == 1 and m.matches(targets[0], self.target):
            return updated_node.with_changes(value=self._replace(updated_node.value))
        if len(targets) == 1 and isinstance(targets[0], cst.Tuple | cst.List):
            positions = [i for i, e in enumerate(targets[0].elements) if m.matches(e.value, self.target)]
            value = updated_node.value
            if not positions:
                return updated_node
            if isinstance(value, cst.Tuple | cst.List) and len(value.elements) == len(targets[0].elements):
                elements = list(value.elements)
                for i in positions:
                    elements[i] = elements[i].with_changes(value=self._replace(elements[i].value))
                return updated_node.with_changes(value=value.with_changes(elements=elements))
            self.unsupported += 1
            return updated_node
        if any(m.matches(t, self.target) for t in targets):
            self.unsupported += 1
        return updated_node

    def leave_AnnAssign(self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign) -> cst.AnnAssign:
        if (
            self._depth == 1
            and updated_node.value is not None
            and m.matches(updated_node.target, self.target)
        ):
            self._occurrence += 1
            return updated_node.with_changes(value=self._replace(updated_node.value))
        return updated_node


class AssignmentStatements(cst.CSTVisitor):
    """Collect, in source order, the statements of an ``__init__`` that assign ``self.<attribute>``.

    The order is the order in which :class:`ReplaceAttributeValue` numbers them (its ``only`` argument).
    ``attribute`` may list several spellings (a private name as written and as stored).
    """

    def __init__(self, attribute: str | Sequence[str], self_name: str = "self") -> None:
        super().__init__()
        self.target = self_attribute(self_name, attribute)
        self.found: list[cst.CSTNode] = []
        self._depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._depth += 1
        return self._depth == 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def leave_Assign(self, original_node: cst.Assign) -> None:
        if self._depth == 1 and any(m.findall(t.target, self.target) for t in original_node.targets):
            self.found.append(original_node)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        if (
            self._depth == 1
            and original_node.value is not None
            and m.matches(original_node.target, self.target)
        ):
            self.found.append(original_node)


class RemoveAttributeAssignment(_InitBodyTransformer):
    """Remove every statement ``self.<attribute> = ...`` (the attribute is declared absent).

    A block left empty gets a ``pass``. ``removed`` counts the removed statements.

        self.pooler = BertPooler(config) if add_pooling_layer else None  ->  (removed)
    """

    def __init__(self, attribute: str, self_name: str = "self") -> None:
        super().__init__()
        target = self_attribute(self_name, attribute)
        self.statement = m.SimpleStatementLine(
            body=[m.Assign(targets=[m.AssignTarget(target)]) | m.AnnAssign(target=target)]
        )
        self.removed = 0

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        if self._depth == 1 and m.matches(updated_node, self.statement):
            self.removed += 1
            return cst.RemoveFromParent()
        return updated_node

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not updated_node.body:
            return updated_node.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])])
        return updated_node


class SwapCallee(cst.CSTTransformer):
    """Replace the callee of every call whose callee ``is_target`` accepts by ``new_callee``.

    RobertaLayer(config, layer_idx=i)  ->  RobertaLayerModified(config, layer_idx=i)
    """

    def __init__(
        self, is_target: Callable[[cst.BaseExpression], bool], new_callee: cst.BaseExpression
    ) -> None:
        super().__init__()
        self.is_target = is_target
        self.new_callee = new_callee
        self.swapped = 0

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if self.is_target(original_node.func):
            self.swapped += 1
            return updated_node.with_changes(func=self.new_callee)
        return updated_node


class InsertBeforePostInit(cst.CSTTransformer):
    """Add statements at the end of an ``__init__``, before a trailing ``self.post_init()`` if there is one.

    ``post_init`` initialises the weights and ties them: modules added after it would miss both.
    """

    def __init__(self, statements: Sequence[cst.BaseStatement], self_name: str = "self") -> None:
        super().__init__()
        self.statements = list(statements)
        self.post_init = m.SimpleStatementLine(
            body=[m.Expr(m.Call(func=self_attribute(self_name, "post_init")))]
        )
        self._depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._depth += 1
        return self._depth == 1

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._depth -= 1
        if self._depth != 0 or not self.statements:
            return updated_node
        body = list(updated_node.body.body)
        at = len(body) - 1 if body and m.matches(body[-1], self.post_init) else len(body)
        if len(body) == 1 and m.matches(body[0], m.SimpleStatementLine(body=[m.Pass()])):
            body, at = [], 0
        body[at:at] = self.statements
        return updated_node.with_changes(body=updated_node.body.with_changes(body=body))


class AttributeReads(cst.CSTVisitor):
    """Count the reads of ``self.<attribute>`` (every occurrence that is not an assignment target)."""

    def __init__(self, attribute: str, self_name: str = "self") -> None:
        super().__init__()
        self.target = self_attribute(self_name, attribute)
        self.reads = 0
        self._targets: set[int] = set()

    def _mark_target(self, target: cst.BaseExpression) -> None:
        # `self.x = ...` and `self.x, self.y = ...` write self.x; `self.x.bias = ...` reads it.
        if isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self._mark_target(element.value)
        elif m.matches(target, self.target):
            self._targets.add(id(target))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._mark_target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._mark_target(node.target)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if m.matches(node, self.target) and id(node) not in self._targets:
            self.reads += 1


def count_reads(function: cst.FunctionDef, attribute: str, self_name: str = "self") -> int:
    visitor = AttributeReads(attribute, self_name)
    function.visit(visitor)
    return visitor.reads


# -- containers: ModuleList / Sequential / ModuleDict construction expressions ------------------------------

ItemExpression = Callable[[str, cst.BaseExpression], cst.BaseExpression]
"""``(item key, original item expression) -> new item expression`` (the original when unchanged)."""


def rewrite_container(
    expression: cst.BaseExpression,
    keys: Sequence[str],
    item_expression: ItemExpression,
    *,
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

    ``keys`` are the keys of the items the original expression builds and that are kept, in order.
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
        if len(expression.args) != 1:
            return None
        if (appended or dropped) and isinstance(value, cst.GeneratorExp):
            return None
        new_value = _rewrite_comprehension(value, keys, item_expression)
        if new_value is None:
            return None
        if dropped:
            new_value = cst.Subscript(
                new_value,
                [
                    cst.SubscriptElement(
                        cst.Slice(
                            lower=None, upper=cst.UnaryOperation(cst.Minus(), cst.Integer(str(dropped)))
                        )
                    )
                ],
            )
        new_first = first.with_changes(value=new_value)
        if appended and first.star == "*":
            return expression.with_changes(
                args=_with_commas_like([new_first, *map(cst.Arg, appended)], first)
            )
        if appended:
            extra = cst.List(_with_commas_like([cst.Element(e) for e in appended], None))
            new_first = first.with_changes(value=cst.BinaryOperation(new_value, cst.Add(), extra))
        return expression.with_changes(args=[new_first])
    if single and isinstance(value, cst.List | cst.Tuple) and len(value.elements) == len(keys) + dropped:
        if any(isinstance(e, cst.StarredElement) for e in value.elements) or (
            appended and isinstance(value, cst.Tuple)
        ):
            return None
        elements = [
            e.with_changes(value=item_expression(k, e.value))
            for k, e in zip(keys, value.elements, strict=False)
        ]
        elements += [cst.Element(e) for e in appended]
        last = value.elements[-1] if value.elements else None
        new_value = value.with_changes(elements=_with_commas_like(elements, last))
        return expression.with_changes(args=[first.with_changes(value=new_value)])
    if single and isinstance(value, cst.Dict):
        return _rewrite_dict(expression, value, keys, item_expression, appended, removed_keys, appended_keys)
    if single and isinstance(value, cst.DictComp) and not appended and not removed_keys:
        new_value = _rewrite_dict_comprehension(value, keys, item_expression)
        return (
            None if new_value is None else expression.with_changes(args=[first.with_changes(value=new_value)])
        )
    if len(expression.args) == len(keys) + dropped and all(
        a.star == "" and a.keyword is None for a in expression.args
    ):
        args = [
            a.with_changes(value=item_expression(k, a.value))
            for k, a in zip(keys, expression.args, strict=False)
        ]
        args += [cst.Arg(e) for e in appended]
        return expression.with_changes(args=_with_commas_like(args, expression.args[-1]))
    return None


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
    index, loop = _index_variable(loop, element)
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


def _index_variable(loop: cst.CompFor, element: cst.BaseExpression) -> tuple[str, cst.CompFor]:
    """The name holding the item index: the loop variable of ``for i in range(n)``, else via ``enumerate``."""
    is_plain_range = m.matches(
        loop,
        m.CompFor(target=m.Name(), iter=m.Call(func=m.Name("range"), args=[m.Arg(keyword=None, star="")])),
    )
    used = {n.value for n in m.findall(element, m.Name())} | {n.value for n in m.findall(loop, m.Name())}
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
    target = cst.Tuple(
        [
            cst.Element(cst.Name(index), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
            cst.Element(loop.target),
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


# -- private names and local aliases ------------------------------------------------------------------------


def written(name: str, class_name: str) -> str:
    """How a private attribute stored as ``name`` is written inside ``class <class_name>`` (the inverse of :func:`mangled`)."""
    prefix = f"_{class_name.lstrip('_')}__"
    if name.startswith(prefix) and not name.endswith("__") and len(name) > len(prefix):
        return name[len(prefix) - 2 :]
    return name


def mangled(name: str, class_name: str) -> str:
    """``name`` as Python stores it when written inside ``class <class_name>`` (``__x`` -> ``_Class__x``)."""
    stripped = class_name.lstrip("_")
    if not name.startswith("__") or name.endswith("__") or not stripped:
        return name
    return f"_{stripped}{name}"


class UnmangleNames(_InitBodyTransformer):
    """Write private names (``self.__cache``) as the attribute their original class stores (``self._Block__cache``).

    Inside ``class BlockModified(Block)``, ``self.__cache`` would mean ``self._BlockModified__cache``: a
    different attribute from the one ``Block``'s other methods read.

        self.__cache = {}  ->  self._Block__cache = {}
    """

    def __init__(self, class_name: str) -> None:
        super().__init__()
        self.class_name = class_name

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        name = mangled(updated_node.value, self.class_name)
        return updated_node if name == updated_node.value else updated_node.with_changes(value=name)


class ReplaceLocalValue(_InitBodyTransformer):
    """Rewrite the value of the assignment ``<name> = value`` of a local variable with ``make_value(value)``.

    attention_class = BertCrossAttention if is_cross_attention else BertSelfAttention
    ->  attention_class = BertCrossAttention if is_cross_attention else BertSelfAttentionModified
    """

    def __init__(self, name: str, make_value: Callable[[cst.BaseExpression], cst.BaseExpression]) -> None:
        super().__init__()
        self.statement = m.Assign(targets=[m.AssignTarget(m.Name(name))])
        self.make_value = make_value
        self.rewritten = 0

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        if self._depth != 1 or not m.matches(updated_node, self.statement):
            return updated_node
        self.rewritten += 1
        return updated_node.with_changes(value=self.make_value(updated_node.value))
