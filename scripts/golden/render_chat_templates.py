#!/usr/bin/env python3
"""Golden data for ember's chat templates: renders real templates with Python jinja2 exactly as
Hugging Face transformers' apply_chat_template does, and writes the expected prompts.

Environment (transformers, chat_template_utils._compile_jinja_template):
  ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                extensions=[AssistantTracker, jinja2.ext.loopcontrols])
  filters["tojson"]  = json.dumps(x, ensure_ascii=False, indent=indent, separators=separators,
                                  sort_keys=sort_keys)        (no HTML escaping)
  globals["raise_exception"] raises jinja2.exceptions.TemplateError(message)
  globals["strftime_now"](fmt) = datetime.now().strftime(fmt); here the date is fixed to
                                  2024-07-26 00:00 so the output is reproducible (ember: --date)
  render(messages=..., tools=None, documents=None, add_generation_prompt=..., **kwargs)

Inputs:  tests/data/chat/templates/*.jinja (exact bytes of real templates; SOURCES.md)
         the conversations below (written to tests/data/chat/conversations.json first and read
         back, so ember and jinja2 see the same JSON)
Output:  tests/data/chat/expected.json: one case per template x conversation x
         add_generation_prompt, with the rendered prompt or the error jinja2 raised.

Usage: EMBER_ORACLE_PY=... scripts/golden/render_chat_templates.py   (from the repo root; re-runs
itself with the oracle python, default ~/.cache/ember/oracle-venv/bin/python)
"""
import json
import os
import sys
from datetime import datetime
from pathlib import Path

ORACLE = os.environ.get("EMBER_ORACLE_PY", os.path.expanduser("~/.cache/ember/oracle-venv/bin/python"))
if os.environ.get("EMBER_GOLDEN_CHILD") != "1" and os.path.exists(ORACLE) and os.path.realpath(sys.executable) != os.path.realpath(ORACLE):
    os.environ["EMBER_GOLDEN_CHILD"] = "1"
    os.execv(ORACLE, [ORACLE] + sys.argv)

import jinja2  # noqa: E402
from jinja2 import nodes  # noqa: E402
from jinja2.ext import Extension, loopcontrols  # noqa: E402
from jinja2.sandbox import ImmutableSandboxedEnvironment  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "chat"
FIXED_NOW = datetime(2024, 7, 26)
BOS, EOS = "<s>", "</s>"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "description": "Forecast days", "default": 1},
                "threshold": {"type": "number", "default": 0.5},
            },
            "required": ["location"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a time zone (IANA name, e.g. “Europe/Paris”).",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
    },
}
CALL_ID = "call00001"  # Mistral's templates require 9 alphanumeric characters

CONVERSATIONS = [
    ("user_only", {"messages": [{"role": "user", "content": "Hello!"}]}),
    ("system_user", {"messages": [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "What is the capital of France?"}]}),
    ("multi_turn", {"messages": [
        {"role": "user", "content": "Hi, who are you?"},
        {"role": "assistant", "content": "I am a helpful assistant."},
        {"role": "user", "content": "Tell me a joke."}]}),
    ("system_multi_turn", {"messages": [
        {"role": "system", "content": "Answer in one sentence."},
        {"role": "user", "content": "Name a planet."},
        {"role": "assistant", "content": "Mars is a planet."},
        {"role": "user", "content": "Another one?"},
        {"role": "assistant", "content": "Jupiter."},
        {"role": "user", "content": "And a moon?"}]}),
    ("assistant_prefill", {"messages": [
        {"role": "user", "content": "Write a haiku about the sea."},
        {"role": "assistant", "content": "Waves fold into foam"}]}),
    ("non_ascii", {"messages": [
        {"role": "system", "content": "Réponds en français, s’il te plaît."},
        {"role": "user", "content": "Ça va? 你好, мир! 🌍 — “quotes” ü ñ ß\ttab"},
        {"role": "assistant", "content": "Très bien 😀 ¡Hola! 日本語もOK"},
        {"role": "user", "content": "Merci 🙏"}]}),
    ("whitespace_and_specials", {"messages": [
        {"role": "user", "content": "  leading and trailing spaces  \n\n"},
        {"role": "assistant", "content": "\nA reply with 'single' and \"double\" quotes, a \\ backslash, {{ braces }} and {% tags %}\n"},
        {"role": "user", "content": "Line one\nLine two\r\nLine three <|im_end|> </s> [INST]"}]}),
    ("tools", {"messages": [
        {"role": "system", "content": "You can call functions."},
        {"role": "user", "content": "What's the weather in Paris?"}],
        "tools": [WEATHER_TOOL, TIME_TOOL]}),
    ("tools_no_system", {"messages": [
        {"role": "user", "content": "What time is it in Tokyo?"}],
        "tools": [TIME_TOOL]}),
    ("tool_calls", {"messages": [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": CALL_ID, "type": "function", "function": {
            "name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius", "days": 2}}}]},
        {"role": "tool", "tool_call_id": CALL_ID, "name": "get_weather", "content": "{\"temperature\": 21.5, \"sky\": \"clear\"}"},
        {"role": "assistant", "content": "It is 21.5 °C and clear in Paris."},
        {"role": "user", "content": "Thanks!"}],
        "tools": [WEATHER_TOOL]}),
    ("tool_calls_pending", {"messages": [
        {"role": "system", "content": "Use tools when needed."},
        {"role": "user", "content": "Weather in Oslo and the time in Lima?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": CALL_ID, "type": "function", "function": {"name": "get_weather", "arguments": {"location": "Oslo"}}},
            {"id": "call00002", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\": \"America/Lima\"}"}}]},
        {"role": "tool", "tool_call_id": CALL_ID, "name": "get_weather", "content": "-3 °C, snow"},
        {"role": "tool", "tool_call_id": "call00002", "name": "get_time", "content": "09:15"}],
        "tools": [WEATHER_TOOL, TIME_TOOL]}),
    ("cohere_style_tools", {"messages": [
        {"role": "system", "content": "You are a search assistant."},
        {"role": "user", "content": "Who won the 2018 World Cup?"}],
        "tools": [{"name": "internet_search", "description": "Returns snippets for a query from the internet",
                   "parameter_definitions": {"query": {"description": "Query to search for", "type": "str", "required": True}}},
                  {"name": "directly_answer", "description": "Answer without tools", "parameter_definitions": {}}]}),
    ("cohere_style_tools_no_system", {"messages": [
        {"role": "user", "content": "Search for the tallest building."}],
        "tools": [{"name": "internet_search", "description": "Returns snippets for a query from the internet",
                   "parameter_definitions": {"query": {"description": "Query to search for", "type": "str", "required": True}}}]}),
    ("content_parts", {"messages": [
        {"role": "system", "content": [{"type": "text", "text": "You describe things."}]},
        {"role": "user", "content": [{"type": "text", "text": "Describe this:"}, {"type": "text", "text": "a red apple"}]}]}),
    ("documents", {"messages": [
        {"role": "user", "content": "What do the documents say about tea?"}],
        "documents": [{"title": "Tea", "text": "Tea is a drink made from leaves."},
                      {"title": "Coffee", "text": "Coffee is made from beans."}]}),
    ("extra_variables", {"messages": [
        {"role": "user", "content": "Think first."}],
        "date_string": "01 Jan 2025", "enable_thinking": True, "thinking": True,
        "custom_number": 1.0, "custom_list": [1, 2.5, "x", None, True]}),
]


class AssistantTracker(Extension):
    """transformers' {% generation %} tag; outside assistant-mask tracking it renders its body."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render_assistant", []), [], [], body).set_lineno(lineno)

    def _render_assistant(self, caller):
        return caller()


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return FIXED_NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    (DATA / "conversations.json").write_text(
        json.dumps([{"name": n, "variables": v} for n, v in CONVERSATIONS], ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8")
    conversations = json.loads((DATA / "conversations.json").read_text(encoding="utf-8"))
    env = make_env()
    cases = []
    templates = sorted((DATA / "templates").glob("*.jinja"))
    counts = {"ok": 0, "error": 0}
    for path in templates:
        source = path.read_bytes().decode("utf-8")
        try:
            compiled = env.from_string(source)
        except Exception as e:  # noqa: BLE001 - any compile failure is golden data too
            compiled = None
            compile_error = f"{type(e).__name__}: {e}"
        for conv in conversations:
            for agp in (True, False):
                variables = dict(conv["variables"])
                variables.setdefault("tools", None)
                variables.setdefault("documents", None)
                variables["add_generation_prompt"] = agp
                variables["bos_token"] = BOS
                variables["eos_token"] = EOS
                case = {"template": path.name, "conversation": conv["name"], "add_generation_prompt": agp}
                if compiled is None:
                    case["error"] = compile_error
                else:
                    try:
                        case["output"] = compiled.render(**variables)
                    except Exception as e:  # noqa: BLE001
                        case["error"] = f"{type(e).__name__}: {e}"
                counts["error" if "error" in case else "ok"] += 1
                cases.append(case)
    meta = {"jinja2": jinja2.__version__, "date": FIXED_NOW.strftime("%Y-%m-%d"), "bos_token": BOS, "eos_token": EOS,
            "templates": len(templates), "conversations": len(conversations), "cases": cases}
    (DATA / "expected.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(templates)} templates x {len(conversations)} conversations x 2: "
          f"{counts['ok']} rendered, {counts['error']} raised", file=sys.stderr)


if __name__ == "__main__":
    main()
