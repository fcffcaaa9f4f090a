"""Lines of code: Python, C, shell, JSON, SQL, JavaScript and YAML."""

from __future__ import annotations

from keras_textnet.data.synthetic.text.dates import date
from keras_textnet.data.synthetic.text.words import plain_words

_CODE_SHORT = ("i", "j", "k", "n", "x", "y", "df", "ctx", "buf", "cfg", "idx", "tmp", "ret",
               "err", "msg", "req", "res", "obj", "val", "key", "args", "opts", "data", "item")
_PY_MODULES = ("os", "sys", "re", "json", "math", "time", "random", "logging", "pathlib",
               "collections", "itertools", "functools", "typing", "numpy as np",
               "pandas as pd", "tensorflow as tf", "keras", "requests", "argparse",
               "dataclasses", "subprocess", "datetime")
_C_HEADERS = ("stdio", "stdlib", "string", "math", "stdint", "unistd", "assert", "errno",
              "pthread", "time", "signal", "ctype")
_C_TYPES = ("int", "char *", "double", "float", "size_t", "uint8_t", "int64_t", "bool",
            "long", "unsigned int", "const char *", "void *")
_SHELL_CMDS = ("ls -la", "cd", "mkdir -p", "rm -rf", "cp -r", "mv", "cat", "less", "tail -f",
               "grep -rn", "find . -name", "chmod +x", "du -sh", "df -h", "ps aux |", "kill -9",
               "ssh", "scp", "rsync -avz", "tar -xzf", "docker run --rm", "git log --oneline",
               "git status", "make -j4", "python3", "pip install", "npm install", "curl -sSL")
_PY_COMPARE = ("==", "!=", "<", ">=", "is", "in")
_PY_BASES = ("object", "Exception", "keras.layers.Layer", "Base")
_EXTENSIONS = ("txt", "json", "csv")
_SQL_WORDS = ("users", "orders", "customers", "invoices", "products", "payments", "items",
              "accounts", "events", "sessions", "logs", "employees", "departments")


def _one_of(r, forms):
    """One of ``forms`` (functions of no argument), drawn uniformly, called."""
    return forms[r.randrange(len(forms))]()


def code_word(sampler, r) -> str:
    return r.choice(sampler._code_words)


def ident(sampler, r, style: str = "snake") -> str:
    if r.random() < 0.25:
        return r.choice(_CODE_SHORT)
    parts = [code_word(sampler, r) for _ in range(r.choice((1, 1, 2, 2, 3)))]
    if style == "camel":
        return parts[0] + "".join(p.capitalize() for p in parts[1:])
    if style == "pascal":
        return "".join(p.capitalize() for p in parts)
    if style == "const":
        return "_".join(parts).upper()
    return "_".join(parts)


def code_line(sampler, r) -> str:
    """One line of Python, C, shell, JSON, SQL, JavaScript or YAML, without indentation."""
    return code_text(sampler, r, r.choice(CODE_LANGUAGES))


def code_text(sampler, r, lang: str) -> str:
    return _CODE_MAKERS[lang](sampler, r)


def py_line(sampler, r) -> str:
    v, w = ident(sampler, r), ident(sampler, r)
    n = r.randint(0, 100)
    s = code_word(sampler, r)
    return _one_of(r, (
        lambda: f"def {ident(sampler, r)}({', '.join(ident(sampler, r) for _ in range(n % 4))}):",
        lambda: f"{v} = {w} {r.choice(('+', '-', '*', '/', '//', '%', '**'))} {n}",
        lambda: f"return {v}" if r.random() < 0.5 else f"return {v}[{w}]",
        lambda: f"if {v} {r.choice(_PY_COMPARE)} {r.choice((str(n), 'None', w))}:",
        lambda: f"for {r.choice(('i', 'k', 'item', 'row', 'line'))} in range({n}):",
        lambda: f"for {r.choice(('k', 'key', 'name'))}, value in {v}.items():",
        lambda: f"import {r.choice(_PY_MODULES)}",
        lambda: f"from {r.choice(_PY_MODULES).split()[0]} import {ident(sampler, r)}",
        lambda: f'print(f"{s}: {{{v}}}")',
        lambda: f"{v}.append({w})",
        lambda: f"class {ident(sampler, r, 'pascal')}({r.choice(_PY_BASES)}):",
        lambda: f'raise ValueError(f"Invalid {s}: {{{v}!r}}")',
        lambda: f"# {' '.join(plain_words(sampler, r, r.randint(2, 8)))}",
        lambda: f'with open("{s}.{r.choice(_EXTENSIONS)}", "{r.choice("rwa")}") as f:',
        lambda: f"{v}[{r.choice(('i', 'j', str(n)))}] = {w}[i] * {r.random() * 10:.2f}",
        lambda: r.choice(("else:", "try:", "finally:", "pass", "continue", "break", "@property",
                          "@staticmethod", "return None", 'if __name__ == "__main__":')),
        lambda: f"except {r.choice(('KeyError', 'ValueError', 'OSError', 'Exception'))} as e:",
        lambda: f"{v} = [x for x in {w} if x {r.choice(_PY_COMPARE[:4])} {n}]",
        lambda: f'assert {v} == {n}, "{s}"',
        lambda: f"{v} = {{'{s}': {n}, '{code_word(sampler, r)}': {w}}}",
        lambda: f"self.{v} = {w}",
        lambda: f"{v} = np.{r.choice(('zeros', 'ones', 'empty'))}(({n}, {r.randint(1, 64)}))",
        lambda: f"elif {v} is None:",
        lambda: f"logger.{r.choice(('info', 'debug', 'warning'))}(\"%s {s}\", {v})",
    ))


def c_line(sampler, r) -> str:
    v, w = ident(sampler, r), ident(sampler, r)
    n = r.randint(0, 1024)
    return _one_of(r, (
        lambda: f"{r.choice(_C_TYPES)} {v} = {n};".replace("* ", "*"),
        lambda: f"for (int i = 0; i < {r.choice((str(n), w, 'n', 'len'))}; i++) {{",
        lambda: f"if ({v} != NULL && {v}->{w} > {n}) {{",
        lambda: r.choice(("}", "} else {", "};", "break;", "continue;", "return 0;",
                          "return -1;", "default:", "#endif", "#else")),
        lambda: f"return {v};",
        lambda: f"#include <{r.choice(_C_HEADERS)}.h>",
        lambda: f"#define {ident(sampler, r, 'const')} {n}",
        lambda: f"static {r.choice(('void', 'int', 'size_t'))} {v}(const char *{w}, size_t n);",
        lambda: f'printf("%d: %s\\n", {v}, {w});',
        lambda: f"{v} {r.choice(('+=', '-=', '*=', '|=', '&=', '<<='))} {w} * {n};",
        lambda: f"/* {' '.join(plain_words(sampler, r, r.randint(2, 7)))} */",
        lambda: f"// {' '.join(plain_words(sampler, r, r.randint(2, 7)))}",
        lambda: f"struct {w} *{v} = malloc(sizeof(*{v}));",
        lambda: f"while ({v}-- > 0) {{",
        lambda: f"case {ident(sampler, r, 'const')}:",
        lambda: f"{v}[i] = ({r.choice(_C_TYPES).strip(' *')}){w}[j] >> {r.randint(1, 16)};",
        lambda: f"memcpy({v}, {w}, {n} * sizeof(uint8_t));",
        lambda: f"typedef struct {{ int {v}; char *{w}; }} {ident(sampler, r, 'pascal')};",
    ))


def shell_line(sampler, r) -> str:
    s = code_word(sampler, r)
    path = "/".join(code_word(sampler, r) for _ in range(r.randint(1, 3)))

    def command():
        prompt, root = r.choice(("$ ", "# ", "")), r.choice(("", "/", "~/", "./", "/var/"))
        return f"{prompt}{r.choice(_SHELL_CMDS)} {root}{path}"

    def export():
        value = r.choice((s, str(r.randint(0, 9999)), "/usr/local/" + path))
        return f"export {ident(sampler, r, 'const')}={value}"

    return _one_of(r, (
        command, command, command,  # three times as often as each other form
        export,
        lambda: f'grep -rn "{s}" {path}/ | wc -l',
        lambda: f"pip install {s}=={r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 9)}",
        lambda: ('git commit -m '
                 f'"{" ".join(plain_words(sampler, r, r.randint(2, 6))).capitalize()}"'),
        lambda: f"curl -s https://{s}.{r.choice(('com', 'io', 'org'))}/{path} | jq '.{s}'",
        lambda: f"python3 {s}.py --{code_word(sampler, r)} {r.randint(1, 512)} > {path}.log 2>&1",
        lambda: f'for f in *.{r.choice(("txt", "csv", "log"))}; do echo "$f"; done',
    ))


def json_line(sampler, r) -> str:
    k = ident(sampler, r, r.choice(("snake", "camel")))
    return _one_of(r, (
        lambda: f'"{k}": "{code_word(sampler, r)}",',
        lambda: f'"{k}": {r.randint(-100, 99999)},',
        lambda: f'"{k}": {r.random() * 1000:.{r.randint(1, 4)}f},',
        lambda: f'"{k}": [{", ".join(str(r.randint(0, 99)) for _ in range(r.randint(1, 6)))}],',
        lambda: f'"{k}": {{',
        lambda: r.choice(("},", "}", "],", "{", "[")),
        lambda: f'"{k}": {r.choice(("true", "false", "null"))},',
        lambda: f'"{k}": "{date(sampler, r)}"',
        lambda: f'{{"id": {r.randint(1, 9999)}, "{k}": "{code_word(sampler, r)}"}},',
    ))


def sql_line(sampler, r) -> str:
    t, c = r.choice(_SQL_WORDS), ident(sampler, r)
    cols = ", ".join(ident(sampler, r) for _ in range(r.randint(1, 4)))
    form = r.randrange(8)
    kw = (lambda x: x) if r.random() < 0.8 else str.lower
    n, word = r.randint(1, 9999), code_word(sampler, r)

    def insert():
        values = ", ".join(repr(code_word(sampler, r)) for _ in cols.split(", "))
        return f"{kw('INSERT INTO')} {t} ({cols}) {kw('VALUES')} ({values});"

    lines = (
        lambda: f"{kw('SELECT')} {cols} {kw('FROM')} {t} {kw('WHERE')} {c} = {n};",
        insert,
        lambda: f"{kw('UPDATE')} {t} {kw('SET')} {c} = '{word}' {kw('WHERE')} id = {n};",
        lambda: (f"{kw('CREATE TABLE')} {t} (id {kw('INTEGER PRIMARY KEY')}, "
                 f"{c} {kw('VARCHAR')}({r.choice((16, 32, 64, 255))}));"),
        lambda: f"{kw('JOIN')} {r.choice(_SQL_WORDS)} {t[0]} {kw('ON')} {t[0]}.{c} = o.{c}",
        lambda: (f"{kw('GROUP BY')} {c} {kw('ORDER BY')} {c} {kw('DESC')} "
                 f"{kw('LIMIT')} {n % 100 + 1};"),
        lambda: (f"{kw('DELETE FROM')} {t} {kw('WHERE')} {c} < "
                 f"'{r.randint(2015, 2030)}-{r.randint(1, 12):02d}-01';"),
        lambda: (f"{kw('SELECT')} {kw('COUNT')}(*) {kw('AS')} n, {kw('SUM')}({c}) "
                 f"{kw('FROM')} {t};"),
    )
    return lines[form]()


def js_line(sampler, r) -> str:
    v, w = ident(sampler, r, "camel"), ident(sampler, r, "camel")
    return _one_of(r, (
        lambda: f"const {v} = await fetch(`/api/{code_word(sampler, r)}/${{{w}}}`);",
        lambda: f"let {v} = {w}.map((x) => x * {r.randint(2, 10)});",
        lambda: (f"export {r.choice(('default ', ''))}function "
                 f"{ident(sampler, r, 'pascal')}({{ {v}, {w} }}) {{"),
        lambda: f"console.log(`{code_word(sampler, r)}: ${{{v}}}`);",
        lambda: r.choice(("});", "}", "})", "};", "return null;", "} catch (err) {", "try {")),
        lambda: f"if ({v} === undefined || {v}.length === 0) {{",
        lambda: f"import {{ {v} }} from './{code_word(sampler, r)}';",
        lambda: f"{v}.{r.choice(('push', 'add', 'set', 'emit'))}({w}, '{code_word(sampler, r)}');",
    ))


def yaml_line(sampler, r) -> str:
    k = ident(sampler, r)
    return _one_of(r, (
        lambda: f"{k}: {code_word(sampler, r)}",
        lambda: f"{k}: {r.randint(0, 9999)}",
        lambda: f"- name: {code_word(sampler, r)}",
        lambda: f"{k}:",
        lambda: f"image: {code_word(sampler, r)}:{r.randint(1, 20)}.{r.randint(0, 9)}",
        lambda: f"- {code_word(sampler, r)}",
    ))


def code_block(sampler, r, min_lines: int, max_lines: int) -> list[tuple[int, str]]:
    """Consecutive lines of one language as ``(indent, text)`` pairs (see
    :meth:`~keras_textnet.data.synthetic.text.TextSampler.code_block`)."""
    lang = r.choice(CODE_LANGUAGES)
    step = 2 if lang in ("json", "yaml", "js") else 4
    out, indent = [], 0
    for _ in range(r.randint(min_lines, max_lines)):
        text = sampler._finish(code_text(sampler, r, lang), lambda *args: "}", r)
        if text[0] in "}])" and indent:
            indent -= step
        out.append((indent, text))
        if text[-1] in "{[:(" and indent < 6 * step:
            indent += step
        elif indent and r.random() < 0.15:
            indent -= step
    return out


CODE_LANGUAGES = ("python", "python", "c", "shell", "json", "sql", "js", "yaml")
_CODE_MAKERS = {"python": py_line, "c": c_line, "shell": shell_line, "json": json_line,
                "sql": sql_line, "js": js_line, "yaml": yaml_line}
