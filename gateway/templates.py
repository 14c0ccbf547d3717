"""Path templates of `google.api.http` rules, as google/api/http.proto defines them:

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    Verb     = ":" LITERAL ;

A template compiles to one regular expression over the raw (still percent-encoded) request path; each variable
becomes a named group whose decoded text is bound to the variable's request field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_LITERAL = re.compile(r"^[^/{}*:=]+$")


class TemplateError(ValueError):
    """A google.api.http path that does not follow the grammar."""


@dataclass(frozen=True)
class Variable:
    field_path: str  # proto field names, dotted: `contact.name`
    segments: tuple[str, ...]  # what it matches: literals, `*`, `**`; `{name}` alone means ("*",)

    @property
    def multi_segment(self) -> bool:
        return "**" in self.segments


@dataclass(frozen=True)
class PathTemplate:
    text: str
    segments: tuple[str | Variable, ...]
    verb: str
    pattern: re.Pattern[str]
    groups: tuple[tuple[str, Variable], ...]  # regex group name -> variable

    @classmethod
    def parse(cls, text: str) -> PathTemplate:
        if not text.startswith("/"):
            raise TemplateError(f"{text!r}: a path template starts with /")
        path, verb = _split_verb(text)
        segments: list[str | Variable] = []
        regex: list[str] = []
        groups: list[tuple[str, Variable]] = []
        for raw in _split_top(path[1:], "/"):
            if raw.startswith("{"):
                if not raw.endswith("}"):
                    raise TemplateError(f"{text!r}: unclosed variable {raw!r}")
                variable = _variable(raw[1:-1], text)
                if any(v.field_path == variable.field_path for _, v in groups):
                    raise TemplateError(f"{text!r}: {variable.field_path} is bound twice")
                group = f"v{len(groups)}"
                groups.append((group, variable))
                segments.append(variable)
                regex.append(f"(?P<{group}>{'/'.join(_segment_regex(s, text) for s in variable.segments)})")
            else:
                segments.append(raw)
                regex.append(_segment_regex(raw, text))
        if verb and not _LITERAL.match(verb):
            raise TemplateError(f"{text!r}: bad verb {verb!r}")
        expression = "^/" + "/".join(regex) + (":" + re.escape(verb) if verb else "") + "$"
        return cls(text, tuple(segments), verb, re.compile(expression), tuple(groups))

    def match(self, raw_path: str) -> dict[str, str] | None:
        """The decoded value of every variable, by field path, or None when the path is not this template's."""
        found = self.pattern.match(raw_path)
        if found is None:
            return None
        values = {}
        for group, variable in self.groups:
            value = found.group(group)
            if variable.multi_segment:  # `**` keeps its slashes: an encoded slash stays encoded
                value = re.sub("%2[Ff]", "%252F", value)
            values[variable.field_path] = unquote(value)
        return values

    @property
    def variables(self) -> tuple[Variable, ...]:
        return tuple(v for _, v in self.groups)

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Sort key, most specific first: a custom verb beats a `*` that would swallow it, literals beat wildcards."""
        literals = sum(1 for s in self.segments if isinstance(s, str) and s not in ("*", "**"))
        literals += sum(1 for v in self.variables for s in v.segments if s not in ("*", "**"))
        deep = any(s == "**" for s in self.segments) or any(v.multi_segment for v in self.variables)
        return (0 if self.verb else 1, 1 if deep else 0, -literals)


def _split_verb(text: str) -> tuple[str, str]:
    depth = 0
    last_slash = 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "/" and depth == 0:
            last_slash = i
    if depth:
        raise TemplateError(f"{text!r}: unbalanced braces")
    depth = 0
    for i in range(last_slash, len(text)):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ":" and depth == 0:
            return text[:i], text[i + 1 :]
    return text, ""


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _variable(inner: str, text: str) -> Variable:
    field_path, eq, rest = inner.partition("=")
    if not _IDENT.match(field_path):
        raise TemplateError(f"{text!r}: bad field path {field_path!r}")
    segments = tuple(rest.split("/")) if eq else ("*",)
    for segment in segments:
        if segment.startswith("{"):
            raise TemplateError(f"{text!r}: variables do not nest")
    return Variable(field_path, segments)


def _segment_regex(segment: str, text: str) -> str:
    if segment == "*":
        return "[^/]+"
    if segment == "**":
        return ".+"
    if not _LITERAL.match(segment):
        raise TemplateError(f"{text!r}: bad segment {segment!r}")
    return re.escape(segment)
