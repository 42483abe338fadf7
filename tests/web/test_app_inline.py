"""The inliner that makes plain ES modules one inline script for the MCP App view."""

from __future__ import annotations

import pytest

from imagegen_mcp.web.inline import inline_modules, library_scope, script_safe

MODULES = {
    "app/main.js": (
        'import { helper, VALUE as value } from "./util.js";\n'
        'import * as shapes from "../shapes.js";\n'
        'import { Lib } from "lib";\n'
        "const local = 1;\n"
        "helper(value, shapes.square(local), Lib);\n"
    ),
    "app/util.js": (
        'import { square } from "../shapes.js";\n'
        "const local = 2;\n"
        "export function helper(a, b) { return square(a) + b + local; }\n"
        "export const VALUE = 3;\n"
    ),
    "shapes.js": (
        "function square(x) { return x * x; }\n"
        "export async function later() {}\n"
        "export { square };\n"
    ),
    "unused.js": "export const NEVER = 1;\n",
}


def test_modules_run_after_their_imports_each_in_its_own_scope() -> None:
    out = inline_modules(MODULES.get, "app/main.js", {"lib": "__lib"})
    order = [out.index(f"// {path}\n") for path in ("shapes.js", "app/util.js", "app/main.js")]
    assert order == sorted(order)
    assert "unused.js" not in out and "NEVER" not in out  # only what the entry reaches
    assert out.count("const __module_shapes_js = (() => {") == 1  # imported twice, run once
    assert "return { later, square };" in out
    assert "return { helper, VALUE };" in out
    assert "const { helper, VALUE: value } = __module_app_util_js;" in out
    assert "const shapes = __module_shapes_js;" in out
    assert "const { Lib } = __lib;" in out
    assert "export" not in out and "import" not in out
    # The two modules' own `local` never meet: each lives in its function.
    assert out.count("const local") == 2 and out.count("})();") == 3


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("export default function f() {}\n", "export form"),
        ('export { a } from "./b.js";\n', "export form"),
        ('import thing from "./b.js";\n', "import form"),
        ('const m = import("./b.js");\n', "import form"),
        ('import { a } from "https://cdn.example/x.js";\n', "neither a local file"),
        ('import { a } from "./missing.js";\n', "not among the inlined files"),
    ],
)
def test_module_syntax_it_does_not_handle_is_refused_naming_the_file(
    source: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=rf"^main\.js: .*{problem}"):
        inline_modules({"main.js": source, "b.js": "export const a = 1;\n"}.get, "main.js")


def test_an_import_cycle_is_refused_naming_it() -> None:
    modules = {
        "a.js": 'import { b } from "./b.js";\nexport const a = 1;\n',
        "b.js": 'import { a } from "./a.js";\nexport const b = 2;\n',
    }
    with pytest.raises(ValueError, match=r"import cycle: a\.js -> b\.js -> a\.js"):
        inline_modules(modules.get, "a.js")


def test_a_library_exposes_only_the_names_asked_from_its_trailing_export_list() -> None:
    source = "var qB=class{};function tO(){}var zz=1;export{zz as Other,qB as App,tO as apply};"
    out = library_scope("__lib", source, ["App", "apply"])
    assert out.startswith("const __lib = (() => {\n") and "export" not in out
    assert "return { App: qB, apply: tO };" in out
    with pytest.raises(ValueError, match="exports no Missing"):
        library_scope("__lib", source, ["App", "Missing"])
    with pytest.raises(ValueError, match="imports or exports elsewhere"):
        library_scope("__lib", 'import{x}from"y";' + source, ["App"])


def test_nothing_inlined_can_close_the_script_element() -> None:
    assert script_safe('s = "</script><script>alert(1)</SCRIPT>";') == (
        's = "<\\/script><script>alert(1)<\\/SCRIPT>";'
    )
    out = inline_modules({"m.js": 'const end = "</script>";\n'}.get, "m.js")
    assert "</script" not in out.lower()
