"""Plain ES modules made into one inline ``<script type="module">`` body, with no bundler.

The MCP App view must be one self-contained HTML document (hosts load it from a ``ui://``
resource into a sandboxed frame that fetches nothing), while the same modules stay ordinary files
the playground page imports directly. This inliner handles exactly the module syntax we write:

- ``import { a, b as c } from "./x.js";`` (a local file, resolved against the importing one),
  ``import * as x from "./x.js";``, ``import "./x.js";``;
- ``import { a } from "<name>";`` for a library given in ``libraries`` (see ``library_scope``);
- ``export`` before ``function``, ``async function``, ``class``, ``const``, ``let``;
  ``export { a, b as c };``.

Anything else (default exports, dynamic ``import(``, re-exports, an unknown bare name, an import
cycle) is refused with ``ValueError`` naming the file, never passed through half-converted.
Guarantees: every module runs once, after the modules it imports, in its own function scope
(top-level names of different modules never clash, and no module sees another's private
names); the output never contains ``</script``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping, Sequence

_IMPORT = re.compile(
    r"""^[ \t]*import\s*(?:(\{[^}]*\})\s*from\s*|\*\s*as\s+([A-Za-z_$][\w$]*)\s*from\s*)?
        (["'])([^"'\n]+)\3[ \t]*;?[ \t]*$""",
    re.MULTILINE | re.VERBOSE,
)
_ANY_IMPORT = re.compile(r"^[ \t]*import\b", re.MULTILINE)
_EXPORT_DECL = re.compile(
    r"^([ \t]*)export[ \t]+((?:async[ \t]+)?function\*?|class|const|let)[ \t]+([A-Za-z_$][\w$]*)",
    re.MULTILINE,
)
_EXPORT_LIST = re.compile(r"^[ \t]*export\s*(\{[^}]*\})[ \t]*;?[ \t]*$", re.MULTILINE)
_ANY_EXPORT = re.compile(r"^[ \t]*export\b", re.MULTILINE)
_DYNAMIC_IMPORT = re.compile(r"\bimport\s*\(")
_NAME = re.compile(r"^[A-Za-z_$][\w$]*$")
_TRAILING_EXPORT = re.compile(r"export\s*\{([^}]*)\}\s*;?\s*$")


def _pairs(braces: str, where: str) -> list[tuple[str, str]]:
    """``{ a, b as c }`` as ``[("a", "a"), ("b", "c")]`` (name outside, local name)."""
    pairs = []
    for item in braces.strip()[1:-1].split(","):
        words = item.split()
        if not words:
            continue
        if len(words) == 1:
            pairs.append((words[0], words[0]))
        elif len(words) == 3 and words[1] == "as":
            pairs.append((words[0], words[2]))
        else:
            raise ValueError(f"{where}: cannot inline the import/export list {braces.strip()!r}")
        if not all(_NAME.match(w) for w in (pairs[-1])):
            raise ValueError(f"{where}: cannot inline the import/export list {braces.strip()!r}")
    return pairs


def _var(path: str) -> str:
    return "__module_" + re.sub(r"[^\w$]", "_", path)


def library_scope(var: str, source: str, names: Sequence[str]) -> str:
    """A bundled library (one ES module ending in ``export{x as Name,...}``, nothing imported)
    as ``const var = (() => { ...; return {Name: x, ...}; })();`` exposing only ``names``."""
    found = _TRAILING_EXPORT.search(source)
    if found is None:
        raise ValueError(f"{var}: the library does not end with an export list")
    body = source[: found.start()]
    if _ANY_IMPORT.search(body) or _ANY_EXPORT.search(body) or _DYNAMIC_IMPORT.search(body):
        raise ValueError(f"{var}: the library imports or exports elsewhere than at its end")
    exported = {outside: local for local, outside in _pairs("{" + found.group(1) + "}", var)}
    missing = [name for name in names if name not in exported]
    if missing:
        raise ValueError(f"{var}: the library exports no {', '.join(missing)}")
    fields = ", ".join(f"{name}: {exported[name]}" for name in names)
    return f"const {var} = (() => {{\n{body}\nreturn {{ {fields} }};\n}})();\n"


def _resolve(importer: str, spec: str) -> str:
    target = posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
    if target.startswith("../"):
        raise ValueError(f"{importer}: imports {spec!r}, outside the inlined files' folder")
    return target


def _convert(path: str, source: str, libraries: Mapping[str, str]) -> tuple[str, list[str]]:
    """The module's body as a function scope's text, and the local files it imports."""
    deps: list[str] = []

    def replace_import(match: re.Match[str]) -> str:
        braces, star, _, spec = match.groups()
        if spec.startswith("."):
            target = _resolve(path, spec)
            deps.append(target)
            holder = _var(target)
        elif spec in libraries:
            holder = libraries[spec]
        else:
            raise ValueError(f"{path}: imports {spec!r}, neither a local file nor a known library")
        if star:
            return f"const {star} = {holder};"
        if braces:
            fields = ", ".join(
                o if o == local else f"{o}: {local}" for o, local in _pairs(braces, path)
            )
            return f"const {{ {fields} }} = {holder};"
        return ""  # a side-effect import: ordering alone

    body = _IMPORT.sub(replace_import, source)
    if _ANY_IMPORT.search(body) or _DYNAMIC_IMPORT.search(body):
        raise ValueError(f"{path}: an import form the inliner does not handle")
    exports: list[tuple[str, str]] = []

    def replace_decl(match: re.Match[str]) -> str:
        exports.append((match.group(3), match.group(3)))
        return f"{match.group(1)}{match.group(2)} {match.group(3)}"

    body = _EXPORT_DECL.sub(replace_decl, body)

    def replace_list(match: re.Match[str]) -> str:
        exports.extend((outside, local) for local, outside in _pairs(match.group(1), path))
        return ""

    body = _EXPORT_LIST.sub(replace_list, body)
    if _ANY_EXPORT.search(body):
        raise ValueError(f"{path}: an export form the inliner does not handle (default, re-export)")
    fields = ", ".join(o if o == local else f"{o}: {local}" for o, local in exports)
    scoped = f"// {path}\nconst {_var(path)} = (() => {{\n{body}\nreturn {{ {fields} }};\n}})();\n"
    return scoped, deps


def inline_modules(
    load: Callable[[str], str | None], entry: str, libraries: Mapping[str, str] | None = None
) -> str:
    """``entry`` and every module it imports as one script body, each module after its imports.
    ``load(path)`` gives a module's source (None: no such file), paths relative to one root,
    like ``app/app.js``. ``libraries`` maps a bare import name to the variable a
    ``library_scope`` defined before this text."""
    libraries = libraries or {}
    ordered: list[str] = []
    converted: dict[str, str] = {}
    visiting: list[str] = []

    def visit(path: str) -> None:
        if path in converted:
            return
        if path in visiting:
            cycle = " -> ".join([*visiting[visiting.index(path) :], path])
            raise ValueError(f"import cycle: {cycle}")
        source = load(path)
        if source is None:
            importer = f"{visiting[-1]}: imports {path!r}, which" if visiting else path
            raise ValueError(f"{importer} is not among the inlined files")
        visiting.append(path)
        text, deps = _convert(path, source, libraries)
        for dep in deps:
            visit(dep)
        visiting.pop()
        converted[path] = text
        ordered.append(path)

    visit(entry)
    return script_safe("".join(converted[p] for p in ordered))


def script_safe(text: str) -> str:
    """Text that cannot end its ``<script>`` element early: ``</script`` (any case) becomes
    ``<\\/script``, the same string inside JavaScript literals."""
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)
