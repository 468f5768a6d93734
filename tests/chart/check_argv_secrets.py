#!/usr/bin/env python3
"""No secret on a command line: every process's argv is readable by every
other process in the pod (/proc/PID/cmdline, ps), while a file, stdin or
the process's own environment is not. This reads each shell script the
chart renders (containers run as `bash -c SCRIPT` and *.sh ConfigMap keys)
and fails on any command that starts a program with a secret among its
arguments.

A secret is what a script reads from a file whose path names a secret
(`$(cat .../kafka-admin-password)`, `$(<$S/x-secret-key)`, a helper such as
`$(secret F)`), and every variable assigned from one. Builtins (printf,
echo, export, read, [[ ...) and here-documents/here-strings do not start a
process with the value in its argv, so they may use secrets; a function
called with a secret is checked with its positional parameters tainted.

usage: check_argv_secrets.py RENDERED.yaml | --script FILE...
(exit 1 and one line per finding)
"""
import re
import shlex
import sys

import yaml

BUILTINS = {
    "printf", "echo", "read", "export", "local", "declare", "typeset", "readonly", "unset",
    "test", "[", "[[", ":", "true", "false", "return", "set", "shift", "cd", "trap", "wait",
    "mapfile", "readarray", "let", "break", "continue", "exit", "shopt", "umask",
}
# Words that precede the command word without being the program run.
KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "time",
            "{", "}", "esac", "in"}
WRAPPERS = {"exec", "command", "nohup", "setsid", "env", "timeout", "nice", "xargs"}
SECRET_WORD = re.compile(r"(password|passwd|secret|token|[-_]key\b|/secrets?/)", re.I)
ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[[^]]*\])?\+?=(.*)$", re.S)
REDIRECTS = {"<", ">", ">>", "<<", "<<<", "<&", ">&", "&>", ">|", "<>", "&>>"}
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
FUNC = re.compile(r"^\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*\(\)\s*\{(.*)$", re.S)


def split_subst(text):
    """Replaces each top-level $(...) by \x00N\x00; returns (text, [inner...])."""
    out, subs, i, quote = [], [], 0, None
    while i < len(text):
        c = text[i]
        if quote == "'":
            out.append(c)
            quote = None if c == "'" else quote
            i += 1
            continue
        if c == "\\" and i + 1 < len(text):
            out.append(text[i:i + 2])
            i += 2
            continue
        if c == "'" and quote is None:
            quote = "'"
        elif c == '"':
            quote = None if quote == '"' else '"'
        if text.startswith("$(", i) and not text.startswith("$((", i):
            depth, j, q = 1, i + 2, None
            while j < len(text) and depth:
                d = text[j]
                if q:
                    q = None if d == q else q
                elif d in "'\"":
                    q = d
                elif d == "(":
                    depth += 1
                elif d == ")":
                    depth -= 1
                j += 1
            subs.append(text[i + 2:j - 1])
            out.append(f"\x00{len(subs) - 1}\x00")
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out), subs


class Checker:
    def __init__(self, where):
        self.where = where
        self.tainted = set()
        self.paths = set()  # variables holding the path (or name) of a secret
        self.funcs = {}
        self.findings = []
        self.stack = []

    def is_secret_text(self, text, taint_pos):
        """Does an expression (a word or a $(...) body) carry a secret?"""
        for bang, name in re.findall(r"\$\{?(!?)([A-Za-z_][A-Za-z0-9_]*)", text):
            if name in self.tainted or (bang and name in self.paths):
                return True
            if not bang and re.search(r"PASSWORD|PASSWD|SECRET|TOKEN", name, re.I):
                return True
        if taint_pos and re.search(r"\$\{?([1-9@*])", text):
            return True
        return False

    def subst_secret(self, inner, taint_pos):
        """A $(...) yields a secret when it reads a secret-named file, calls
        a reader function with one, or expands a tainted value."""
        body = inner.strip()
        m = re.match(r"^(cat|<|secret|head|tr)\b", body) or body.startswith("<")
        if m and (SECRET_WORD.search(body) or any(
                n in self.paths for n in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", body))):
            return True
        return self.is_secret_text(body, taint_pos)

    def lines(self, script):
        """Logical lines (continuations joined) and the bodies of here-documents."""
        raw = script.split("\n")
        i = 0
        while i < len(raw):
            line = raw[i]
            while line.endswith("\\") and i + 1 < len(raw):
                i += 1
                line = line[:-1] + " " + raw[i]
            docs = HEREDOC.findall(line)
            yield "line", line
            for _, word in docs:
                body = []
                i += 1
                while i < len(raw) and raw[i].strip() != word:
                    body.append(raw[i])
                    i += 1
                yield "heredoc", "\n".join(body)
            i += 1

    def check(self, script, taint_pos=False):
        it = iter(list(self.lines(script)))
        for kind, text in it:
            if kind == "heredoc":
                # stdin of a command: only its $(...) run commands
                _, subs = split_subst(text)
                for s in subs:
                    self.check(s, taint_pos)
                continue
            m = FUNC.match(text)
            if m:
                name, rest = m.group(1), m.group(2)
                body = [rest]
                depth = rest.count("{") - rest.count("}") + 1
                while depth > 0:
                    try:
                        k, t = next(it)
                    except StopIteration:
                        break
                    if k == "line":
                        depth += t.count("{") - t.count("}")
                    body.append(t)
                self.funcs[name] = "\n".join(body).rstrip().rstrip("}")
                continue
            self.check_line(text, taint_pos)

    def check_line(self, line, taint_pos):
        text, subs = split_subst(line)
        secret_subs = set()
        for n, s in enumerate(subs):
            self.check(s, taint_pos)  # the commands inside run too
            if self.subst_secret(s, taint_pos):
                secret_subs.add(n)
        try:
            lex = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
            lex.whitespace_split = True
            lex.commenters = "#"
            tokens = list(lex)
        except ValueError:
            tokens = text.split()
        commands, cur = [], []
        for t in tokens:
            if t in (";", "&&", "||", "|", "&", "(", ")", ";;", "|&", "((", "))"):
                commands.append(cur)
                cur = []
            else:
                cur.append(t)
        commands.append(cur)
        for words in commands:
            self.check_command(words, secret_subs, taint_pos, line)

    def word_secret(self, word, secret_subs, taint_pos):
        for n in re.findall(r"\x00(\d+)\x00", word):
            if int(n) in secret_subs:
                return True
        return self.is_secret_text(word, taint_pos)

    def assign(self, name, value, secret_subs, taint_pos):
        if self.word_secret(value, secret_subs, taint_pos):
            self.tainted.add(name)
        elif "\x00" not in value and SECRET_WORD.search(value):
            self.paths.add(name)

    def check_command(self, words, secret_subs, taint_pos, line):
        # drop redirections and their targets (a file name or stdin text)
        clean, skip = [], False
        for w in words:
            if skip:
                skip = False
                continue
            if w in REDIRECTS or re.fullmatch(r"\d*[<>]+&?", w):
                skip = True
                continue
            clean.append(w)
        words = clean
        if words and words[0] in ("for", "case", "select"):
            return
        i = 0
        while i < len(words) and words[i] in KEYWORDS:
            i += 1
        # leading assignments: taint, they are the environment, not argv
        while i < len(words) and ASSIGN.match(words[i]):
            name, _, value = ASSIGN.match(words[i]).groups()
            self.assign(name, value, secret_subs, taint_pos)
            i += 1
        if i >= len(words):
            return
        cmd = words[i]
        args = words[i + 1:]
        while cmd in WRAPPERS and args:
            # exec/env/...: the wrapped program gets the rest as its argv
            while args and (args[0].startswith("-") or ASSIGN.match(args[0])):
                args = args[1:]
            if not args:
                break
            cmd, args = args[0], args[1:]
        secret_args = [a for a in args if self.word_secret(a, secret_subs, taint_pos)]
        if cmd in ("export", "local", "declare", "typeset", "readonly"):
            for a in args:
                m = ASSIGN.match(a)
                if m:
                    self.assign(m.group(1), m.group(3), secret_subs, taint_pos)
            return
        if cmd == "read" and secret_args:
            return
        if not secret_args:
            return
        if cmd in BUILTINS:
            return
        if cmd in self.funcs:
            if cmd in self.stack:
                return
            self.stack.append(cmd)
            self.check(self.funcs[cmd], taint_pos=True)
            self.stack.pop()
            return
        shown = line.strip()
        shown = re.sub(r"\x00\d+\x00", "$(...)", shown)
        self.findings.append(f"{self.where}: `{cmd}` gets a secret on its command line: {shown[:160]}")


def scripts_of(docs):
    for d in docs:
        kind = d.get("kind")
        if kind == "ConfigMap":
            for k, v in (d.get("data") or {}).items():
                if k.endswith(".sh"):
                    yield f'ConfigMap/{d["metadata"]["name"]}[{k}]', v
            continue
        if kind not in ("Deployment", "StatefulSet", "DaemonSet", "Job", "Pod", "CronJob"):
            continue
        spec = d["spec"]
        if kind == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if kind != "Pod":
            spec = spec["template"]["spec"]
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            argv = (c.get("command") or []) + (c.get("args") or [])
            for n, a in enumerate(argv[:-1]):
                if a == "-c" and n >= 1 and re.search(r"(^|/)(ba|da)?sh$", argv[n - 1]):
                    yield f'{kind}/{d["metadata"]["name"]}[{c["name"]}]', argv[n + 1]
                    break


def main(argv):
    findings, count = [], 0
    if argv[0] == "--script":
        items = [(p, open(p, encoding="utf-8").read()) for p in argv[1:]]
    else:
        with open(argv[0], encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        items = list(scripts_of(docs))
    for where, script in items:
        count += 1
        c = Checker(where)
        c.check(script)
        findings += c.findings
    for f in findings:
        print(f)
    if count == 0:
        print("no script found (nothing checked)")
        return 1
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
