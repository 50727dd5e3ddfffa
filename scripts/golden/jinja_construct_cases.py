#!/usr/bin/env python3
"""Golden data for each Jinja construct ember supports: small templates rendered with Python jinja2
in Hugging Face's environment (see render_chat_templates.py for its exact definition).

Writes tests/data/chat/constructs.json: [{name, template, variables, output | error}]. A case whose
jinja2 rendering raises records the error; ember must raise too. Run from anywhere; re-runs itself
with the oracle python ($EMBER_ORACLE_PY, default ~/.cache/ember/oracle-venv/bin/python).
"""
import json
import os
import sys
from pathlib import Path

ORACLE = os.environ.get("EMBER_ORACLE_PY", os.path.expanduser("~/.cache/ember/oracle-venv/bin/python"))
if os.environ.get("EMBER_GOLDEN_CHILD") != "1" and os.path.exists(ORACLE) and os.path.realpath(sys.executable) != os.path.realpath(ORACLE):
    os.environ["EMBER_GOLDEN_CHILD"] = "1"
    os.execv(ORACLE, [ORACLE] + sys.argv)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from render_chat_templates import make_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]
V = {"messages": MSGS, "s": "  Hello, World  ", "n": 7, "f": 2.5, "l": [3, 1, 2], "d": {"b": 1, "a": 2},
     "u": "héllo wörld ÉCOLE ß", "none": None, "t": True, "people": [
         {"name": "bob", "age": 30, "tags": ["x"]}, {"name": "Alice", "age": 25},
         {"name": "carol", "age": 30, "tags": []}]}

CASES = [
    # --- whitespace control: trim_blocks, lstrip_blocks, - and + ---
    ("TrimBlocksEatsNewlineAfterBlockTag", "{% if t %}\nyes\n{% endif %}\nend"),
    ("LstripBlocksRemovesIndentBeforeBlockTag", "a\n    {% if t %}\n    x\n    {% endif %}\nb"),
    ("LstripBlocksKeepsTextBeforeTagOnSameLine", "a  {% if t %}x{% endif %}  b"),
    ("LstripDoesNotApplyToVariables", "a\n    {{ n }}\n"),
    ("MinusStripsAllWhitespaceBothSides", "a  \n\n  {%- if t -%}  \n\n  x  \n {%- endif -%}\n\n b"),
    ("MinusOnVariableTags", "a   {{- n -}}   b"),
    ("PlusDisablesLstripBlocks", "a\n    {%+ if t %}x{% endif %}"),
    ("PlusDisablesTrimBlocks", "{% if t +%}\nx{% endif %}"),
    ("CommentsAreDroppedAndTrimmed", "a\n  {# a comment #}\nb{#- x -#}  c"),
    ("RawBlockIsLiteral", "{% raw %}{{ not evaluated }}{% if %}{% endraw %}!"),
    ("RawBlockWithWhitespaceControl", "a  {%- raw -%}  {{ x }}  {%- endraw -%}  b"),
    ("TrailingNewlineOfTemplateIsDropped", "x\n"),
    ("OnlyOneTrailingNewlineDropped", "x\n\n"),
    ("CrLfNormalizedToLf", "a\r\nb\rc"),
    ("TrimBlocksAfterCrLf", "{% if t %}\r\nx{% endif %}"),
    ("TabsAreLstripped", "a\n\t \t{% if t %}x{% endif %}"),
    ("ForLoopLinesWithLstripAndTrim", "{% for m in messages %}\n  {{ m.role }}\n{% endfor %}\n"),
    ("UnicodeWhitespaceStrippedByMinus", "a\u00a0\u3000{%- if t %}x{% endif %}"),
    # --- literals and printing like Python str() ---
    ("PrintsPythonReprOfContainers", "{{ [1, 'a', none, true, 2.0] }} {{ {'k': 'v', 'n': [1]} }} {{ (1,) }} {{ (1, 2) }}"),
    ("PrintsNoneTrueFalse", "{{ none }} {{ true }} {{ False }} {{ None }}"),
    ("PrintsFloatsLikePython", "{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e-5 }} {{ 123456789012345.6 }} {{ 2.5e-3 }} {{ 1/3 }}"),
    ("ReprQuotesStringsLikePython", "{{ [\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\t', 'nl\\n', 'é', '\\x01'] }}"),
    ("StringEscapes", "{{ 'a\\nb\\tc\\\\d\\'e\\u00e9\\x41\\101\\q' }}"),
    ("AdjacentStringsConcatenate", "{{ 'a' 'b' \"c\" }}"),
    ("IntegerLiteralForms", "{{ 1_000 }} {{ 0x1F }} {{ 0b101 }} {{ 0o17 }} {{ 1.5e2 }}"),
    ("PrintsMessagesAsPythonRepr", "{{ messages[1] }}"),
    ("PrintsTuplesFromItems", "{{ d|items|list }}"),
    ("OutputTupleExpression", "{{ 1, 'a' }}"),
    # --- expressions ---
    ("ArithmeticPrecedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 6 / 2 }}"),
    ("FloatArithmetic", "{{ 2.5 * 2 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 1 + true }} {{ 0.5 - 1 }}"),
    ("StringConcatAndRepeat", "{{ 'ab' + 'cd' }} {{ 'ab' * 3 }} {{ 2 * 'x' }} {{ 'n=' ~ n ~ none ~ t }}"),
    ("ListConcatAndRepeat", "{{ [1] + [2, 3] }} {{ [0] * 3 }}"),
    ("Comparisons", "{{ 1 < 2 }} {{ 2 <= 2 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ 1 != 2 }} {{ [1,2] == [1,2] }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ true == 1 }}"),
    ("InAndNotIn", "{{ 'a' in 'cat' }} {{ 2 in l }} {{ 'a' in d }} {{ 'z' not in d }} {{ 5 not in l }}"),
    ("AndOrReturnOperandsLikePython", "{{ 0 or 'x' }} {{ '' and 'y' }} {{ 'a' and 'b' }} {{ none or [] }} {{ n or 1 }}"),
    ("NotPrecedence", "{{ not 1 == 2 }} {{ not t and t }} {{ not none }}"),
    ("ConditionalExpression", "{{ 'yes' if t else 'no' }} {{ 'yes' if not t else 'no' }} [{{ 'only' if false }}]"),
    ("NestedConditionalExpression", "{{ 'a' if n > 10 else 'b' if n > 5 else 'c' }}"),
    ("AttributeAndItemAccess", "{{ messages[0].role }} {{ messages[0]['content'] }} {{ messages[-1].content }} {{ d.a }} {{ d['b'] }} {{ l.0 }}"),
    ("MissingKeyIsUndefinedAndEmpty", "[{{ d.zzz }}][{{ messages[9] }}][{{ d['q'] }}]"),
    ("Slicing", "{{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ 'hello'[1:3] }} {{ 'héllo'[::-1] }} {{ messages[1:]|length }} {{ l[5:] }} {{ l[-10:2] }}"),
    ("StringIndexCountsCodePoints", "{{ u[1] }} {{ u[-1] }} {{ u|length }}"),
    ("DictLiteralKeepsOrderAndLastDuplicate", "{{ {'z': 1, 'a': 2, 'z': 3} }}"),
    ("TildeConvertsEverything", "{{ 1 ~ 2.0 ~ none ~ [1] ~ {'a': 1} }}"),
    ("PercentFormatting", "{{ '%s-%d' % ('a', 3) }} {{ '%s' % 'x' }} {{ 'x%%' % () }}"),
    # --- statements ---
    ("IfElifElse", "{% for x in [1, 5, 10] %}{% if x < 3 %}small{% elif x < 8 %}mid{% else %}big{% endif %} {% endfor %}"),
    ("ForLoopVariables", "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}"),
    ("ForLoopPrevNextAndCycle", "{% for x in l %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }} {{ loop.cycle('odd', 'even') }};{% endfor %}"),
    ("ForLoopChanged", "{% for p in people %}{% if loop.changed(p.age) %}[{{ p.age }}]{% endif %}{{ p.name }}{% endfor %}"),
    ("ForLoopFilterCountsOnlyKeptItems", "{% for m in messages if m.role != 'system' %}{{ loop.index }}/{{ loop.length }}:{{ m.content }} {% endfor %}"),
    ("ForElseRunsWhenEmpty", "{% for x in [] %}x{% else %}empty{% endfor %} {% for x in [1] if x > 5 %}x{% else %}filtered{% endfor %}"),
    ("ForOverDictIteratesKeys", "{% for k in d %}{{ k }}{% endfor %}"),
    ("ForTupleUnpacking", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for a, b in [[1, 2], (3, 4)] %}{{ a + b }}{% endfor %}"),
    ("BreakAndContinue", "{% for x in range(10) %}{% if x % 2 %}{% continue %}{% endif %}{% if x > 6 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
    ("NestedLoopsSeeOwnLoopVariable", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.index }}{{ b }}{% endfor %}{{ loop.index }};{% endfor %}"),
    ("SetInsideLoopDoesNotLeak", "{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + 10 %}{{ x }} {% endfor %}{{ x }}"),
    ("SetInsideLoopLastsOneIteration", "{% for i in range(3) %}{% if i == 0 %}{% set y = 1 %}{% endif %}[{{ y }}]{% endfor %}{% set z = 5 %}{% for i in range(2) %}{{ z }}{% set z = i %}{{ z }};{% endfor %}{{ z }}"),
    ("SetInIfAtTopLevelIsVisible", "{% if t %}{% set y = 'set' %}{% endif %}{{ y }}"),
    ("NamespaceCarriesStateOutOfLoops", "{% set ns = namespace(count=0, last=none) %}{% for m in messages %}{% set ns.count = ns.count + 1 %}{% set ns.last = m.role %}{% endfor %}{{ ns.count }} {{ ns.last }} {{ ns.missing is defined }}"),
    ("NamespaceFromDict", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}"),
    ("SetTupleUnpacking", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set (c, e) = [3, 4] %}{{ c }}{{ e }}"),
    ("BlockSetCapturesAndFilters", "{% set x %}  Hello {{ n }}  {% endset %}[{{ x }}]{% set y | upper | trim %} abc {% endset %}[{{ y }}]"),
    ("MacroWithDefaultsAndKeywords", "{% macro tag(name, value='v', sep=':') %}<{{ name }}{{ sep }}{{ value }}>{% endmacro %}{{ tag('a') }}{{ tag('b', 'c') }}{{ tag('d', sep='=') }}"),
    ("MacroSeesGlobalsNotCallerLocals", "{% set g = 'G' %}{% macro m() %}{{ g }}{{ i is defined }}{% endmacro %}{% for i in [1] %}{{ m() }}{% endfor %}"),
    ("MacroVarargsAndKwargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k='v') }}"),
    ("MacroRecursion", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}"),
    ("CallBlockWithCaller", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ n }}{% endcall %}"),
    ("CallBlockWithArguments", "{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) each([1, 2]) %}[{{ x }}]{% endcall %}"),
    ("FilterBlock", "{% filter upper %}hello {{ n }}{% endfilter %}"),
    ("WithBlockScopes", "{% with a = 1, b = n %}{{ a + b }}{% endwith %}[{{ a }}]"),
    ("Generation", "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% endif %}{% endfor %}"),
    # --- undefined semantics ---
    ("UndefinedPrintsEmptyAndIsFalse", "[{{ nothing }}]{% if nothing %}yes{% else %}no{% endif %}{{ nothing is defined }}{{ nothing is undefined }}"),
    ("UndefinedIteratesEmptyAndHasLengthZero", "{% for x in nothing %}x{% endfor %}{{ nothing|length }}{{ nothing|list }}{{ nothing|default('dflt') }}{{ none|default('dflt') }}"),
    ("UndefinedComparesAndConcatenates", "{{ nothing == nothing }}{{ nothing == 1 }}{{ 'a' ~ nothing ~ 'b' }}{{ 'x' in nothing }}"),
    ("UndefinedAttributeIsError", "{{ nothing.attr }}"),
    ("UndefinedArithmeticIsError", "{{ nothing + 1 }}"),
    ("CallingUndefinedIsError", "{{ nothing() }}"),
    ("AttributeOfMissingKeyIsError", "{{ d.missing.deeper }}"),
    ("AttributeOfNoneIsUndefined", "[{{ none.attr }}]{{ none.attr is defined }}"),
    ("UnsafeListMethodIsRefused", "{{ l.append(4) }}"),
    ("UnsafeDictMethodIsRefused", "{{ d.update({'c': 3}) }}"),
    ("DefaultBooleanMode", "{{ ''|default('e') }}{{ ''|default('e', true) }}{{ 0|d('z', boolean=true) }}"),
    # --- tests ---
    ("TypeTests", "{{ 1 is number }}{{ t is number }}{{ 1 is integer }}{{ t is integer }}{{ f is float }}{{ s is string }}{{ d is mapping }}{{ l is iterable }}{{ s is iterable }}{{ n is iterable }}{{ l is sequence }}{{ none is none }}{{ t is boolean }}{{ t is true }}{{ t is false }}{{ range is callable }}"),
    ("ValueTests", "{{ 4 is even }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}{{ 'x' is eq 'x' }}{{ 1 is equalto 2 }}{{ 2 is gt 1 }}{{ 2 is ge 3 }}{{ 1 is lt(2) }}{{ 'a' is in 'abc' }}{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ none is sameas none }}{{ 1 is ne 2 }}"),
    ("TestsWithNot", "{{ n is not string }}{{ n is not number }}{{ none is not none }}"),
    ("FilterAndTestTests", "{{ 'upper' is filter }}{{ 'nope' is filter }}{{ 'defined' is test }}"),
    # --- filters ---
    ("TrimUpperLowerTitleCapitalize", "[{{ s|trim }}][{{ s|upper }}][{{ s|lower }}][{{ 'hello big-world (x) o\\'neil'|title }}][{{ 'hELLO wORLD'|capitalize }}][{{ 'xxhixx'|trim('x') }}]"),
    ("UnicodeCaseMapping", "{{ u|upper }} {{ u|lower }} {{ u.title() }}"),
    ("LengthCountFirstLast", "{{ l|length }}{{ s|count }}{{ l|first }}{{ l|last }}{{ 'abc'|first }}{{ 'abc'|last }}{{ d|first }}"),
    ("JoinAndAttributeJoin", "{{ l|join(', ') }}|{{ l|join }}|{{ people|join('/', attribute='name') }}|{{ ['a', 1, none]|join('-') }}"),
    ("ReplaceWithCount", "{{ 'aaa'|replace('a', 'b') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'ab'|replace('', '-') }}"),
    ("ItemsListString", "{{ d|items|list }} {{ 'ab'|list }} {{ d|list }} {{ 12|string ~ 'x' }} {{ [1]|string }}"),
    ("IntFloatRoundAbs", "{{ '42'|int }} {{ '42.7'|int }} {{ 'x'|int }} {{ 'x'|int(5) }} {{ 3.9|int }} {{ '0x1A'|int(0, 16) }} {{ '1.5'|float }} {{ 'y'|float }} {{ 2.567|round(2) }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(1, 'floor') }} {{ 5|round }} {{ -3|abs }} {{ -2.5|abs }}"),
    ("MapSelectReject", "{{ people|map(attribute='name')|list }} {{ ['a', 'B']|map('upper')|list }} {{ l|select('odd')|list }} {{ l|reject('odd')|list }} {{ [0, 1, '', 'x', none]|select|list }} {{ people|map(attribute='tags', default='none')|list }}"),
    ("SelectattrRejectattr", "{{ people|selectattr('age', 'equalto', 30)|map(attribute='name')|join(',') }} {{ people|rejectattr('tags')|map(attribute='name')|join(',') }} {{ people|selectattr('tags', 'defined')|list|length }} {{ messages|selectattr('role', 'eq', 'user')|list|length }}"),
    ("UniqueSortDictsort", "{{ ['a', 'A', 'b', 'a']|unique|list }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }} {{ l|sort(reverse=true) }} {{ people|sort(attribute='age')|map(attribute='name')|join(',') }} {{ people|sort(attribute='age,name')|map(attribute='name')|join(',') }} {{ d|dictsort }} {{ d|dictsort(by='value', reverse=true) }}"),
    ("IndentFilter", "[{{ 'a\\nb\\n\\nc'|indent }}][{{ 'a\\nb'|indent(2, true) }}][{{ 'a\\n\\nb'|indent('> ', blank=true) }}][{{ 'x\\n'|indent(first=true) }}]"),
    ("MinMaxSumReverseBatch", "{{ l|min }}{{ l|max }}{{ l|sum }}{{ people|sum(attribute='age') }}{{ l|reverse|list }}{{ 'abc'|reverse }}{{ [1,2,3,4,5]|batch(2)|list }}{{ [1,2,3]|batch(2, 0)|list }}{{ ['b', 'A']|max }}"),
    ("CenterWordcountEscapeFormat", "[{{ 'ab'|center(6) }}][{{ 'abc'|center(6) }}]{{ 'one two, three'|wordcount }}{{ '<a href=\"x\">&\\''|escape }}{{ '%s=%s'|format('k', 1) }}{{ 'x'|safe }}"),
    ("AttrFilterPrefersAttributes", "{% set ns = namespace(a=5) %}[{{ d|attr('a') }}][{{ ns|attr('a') }}][{{ ns|attr('b') }}]"),
    # --- tojson like Hugging Face ---
    ("TojsonDefaults", "{{ {'b': [1, 2.0, none, true], 'a': 'é\"\\\\\\n<>&\\''}|tojson }}"),
    ("TojsonIndentInt", "{{ {'a': [1, {'b': []}], 'c': {}}|tojson(indent=2) }}"),
    ("TojsonIndentString", "{{ [1, [2]]|tojson(indent='\\t') }}"),
    ("TojsonIndentZero", "{{ {'a': [1]}|tojson(indent=0) }}"),
    ("TojsonEnsureAsciiAndSortKeys", "{{ {'z': 'é😀', 'a': 1}|tojson(ensure_ascii=true, sort_keys=true) }}"),
    ("TojsonSeparators", "{{ {'a': [1, 2]}|tojson(separators=(',', ':')) }}"),
    ("TojsonOfToolDefinition", "{{ messages|tojson }}"),
    ("TojsonControlCharacters", "{{ '\\x00\\x1f\\x7f\\u2028'|tojson }}"),
    ("TojsonFloats", "{{ [1.0, 0.1, 1e16, 1e-7, -0.0, 3.14159, 100.0]|tojson }}"),
    ("TojsonOfUndefinedIsError", "{{ nothing|tojson }}"),
    # --- methods ---
    ("StringMethods", "[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ 'xxhixx'.strip('x') }}][{{ 'a,b,,c'.split(',') }}][{{ ' a  b '.split() }}][{{ 'a b c'.split(' ', 1) }}][{{ 'a b c'.rsplit(' ', 1) }}]"),
    ("StringMethods2", "{{ 'Hello'.startswith('He') }}{{ 'Hello'.endswith(('x', 'lo')) }}{{ 'hello world'.title() }}{{ 'o\\'neil mc-x 3rd'.title() }}{{ 'ab'.upper() }}{{ 'AB'.lower() }}{{ 'aXa'.replace('a', 'b') }}{{ 'a'.capitalize() }}"),
    ("StringMethods3", "{{ '{} and {}'.format('x', 1) }} {{ '{1}{0}'.format('a', 'b') }} {{ '{name}!'.format(name='n') }} {{ '-'.join(['a', 'b']) }} {{ 'hello'.find('l') }} {{ 'hello'.count('l') }} {{ 'a\\nb\\r\\nc'.splitlines() }} {{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ '  '.isspace() }}"),
    ("DictMethods", "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'fallback') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }}"),
    ("DictMethodWinsOverKeyForAttribute", "{% set x = {'items': 'key', 'other': 1} %}{{ x['items'] }} {{ x.items()|list }}"),
    ("ListMethods", "{{ l.index(1) }} {{ [1, 1, 2].count(1) }}"),
    # --- globals ---
    ("RangeForms", "{{ range(3)|list }} {{ range(1, 4)|list }} {{ range(10, 0, -3)|list }} {{ range(0)|list }}"),
    ("RangeTooBigIsError", "{{ range(100001)|length }}"),
    ("DictGlobal", "{{ dict(a=1, b='x') }} {{ dict({'c': 2}) }}"),
    ("RaiseException", "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"),
    ("StrftimeNow", "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%B %d, %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %j') }}"),
    # --- errors at render time ---
    ("StringPlusIntIsError", "{{ 'a' + 1 }}"),
    ("DivisionByZeroIsError", "{{ 1 / 0 }}"),
    ("IteratingNumberIsError", "{% for x in 5 %}{% endfor %}"),
    ("ItemsOfListIsError", "{{ l|items|list }}"),
    ("OrderingMixedTypesIsError", "{{ 1 < 'a' }}"),
    ("NamespaceAssignOnNonNamespaceIsError", "{% set d.x = 1 %}"),
    # --- errors at compile time ---
    ("UnknownFilterIsCompileError", "{{ x|no_such_filter }}"),
    ("UnknownTestIsCompileError", "{{ x is no_such_test }}"),
    ("UnknownTagIsCompileError", "{% frobnicate %}"),
    ("UnclosedIfIsCompileError", "{% if t %}x"),
    ("UnclosedVariableIsCompileError", "{{ x "),
    ("MismatchedEndTagIsCompileError", "{% for x in l %}{% endif %}"),
    ("UnclosedStringIsCompileError", "{{ 'abc }}"),
    ("BadTokenIsCompileError", "{{ a $ b }}"),
    ("UnclosedCommentIsCompileError", "{# never closed"),
]


def main():
    env = make_env()
    out = []
    for name, template in CASES:
        case = {"name": name, "template": template}
        try:
            case["output"] = env.from_string(template).render(**V)
        except Exception as e:  # noqa: BLE001
            case["error"] = f"{type(e).__name__}: {e}"
        out.append(case)
    data = {"variables": V, "date": "2024-07-26", "cases": out}
    path = ROOT / "tests" / "data" / "chat" / "constructs.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(out)} cases, {sum('error' in c for c in out)} raise", file=sys.stderr)


if __name__ == "__main__":
    main()
