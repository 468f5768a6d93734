#!/usr/bin/env python3
"""Offline checks of the chart's observability pieces (run by chart-test).

  extract RENDERED OUTDIR        write OUTDIR/rules.yaml (the PrometheusRule's
                                 spec) for promtool check/test rules
  runbook RENDERED RUNBOOK       every alert has summary, description and a
                                 runbook_url <...>/docs/runbook.md#<section>
                                 whose section exists; every alert section of
                                 the runbook belongs to an alert
  metrics RENDERED DASHBOARD CONTRACT
                                 every metric the rules and the dashboard use
                                 is in the contract (docs/metrics.md); the
                                 dashboard is sidecar-ready JSON
  servicemonitor RENDERED        the ServiceMonitor scrapes /metrics on the port
                                 named admin, and that port of each of the four
                                 services' Service leads to the container's
                                 admin port
  dashrules DASHBOARD OUTFILE    every dashboard query as a recording rule in
                                 OUTFILE, so promtool check rules parses it
  sources CONTRACT ROOT          a service whose code registers orders_*
                                 metrics registers exactly the contract's names
                                 (its literal names plus, when it calls
                                 consumer_stats_init(..., "<svc>", ...), the
                                 "orders_%s_*" templates of
                                 common/consumer_stats.c)

Exit status 0 when the check holds, 1 with one line per problem otherwise.
"""
import json
import re
import sys
from pathlib import Path

import yaml

HIST_SUFFIX = re.compile(r"_(bucket|count|sum)$")


def docs(path):
    return [d for d in yaml.safe_load_all(Path(path).read_text()) if d]


def prometheus_rule(path):
    rules = [d for d in docs(path) if d.get("kind") == "PrometheusRule"]
    if len(rules) != 1:
        sys.exit(f"expected one PrometheusRule in {path}, found {len(rules)}")
    r = rules[0]
    if r.get("apiVersion") != "monitoring.coreos.com/v1" or not r.get("spec", {}).get("groups"):
        sys.exit("PrometheusRule needs apiVersion monitoring.coreos.com/v1 and spec.groups")
    return r


def alerts(rule):
    return [x for g in rule["spec"]["groups"] for x in g["rules"] if "alert" in x]


def slug(heading):
    """GitHub's anchor of a Markdown heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def cmd_extract(rendered, outdir):
    rule = prometheus_rule(rendered)
    out = Path(outdir) / "rules.yaml"
    out.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    return []


def cmd_runbook(rendered, runbook):
    text = Path(runbook).read_text()
    headings = re.findall(r"^#{2,3} (.+)$", text, re.M)
    anchors = {slug(h) for h in headings}
    errs, used = [], set()
    for a in alerts(prometheus_rule(rendered)):
        name, ann = a["alert"], a.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            if not ann.get(key):
                errs.append(f"{name}: no {key} annotation")
        url = ann.get("runbook_url", "")
        m = re.fullmatch(r"https?://\S+/docs/runbook\.md#([\w-]+)", url)
        if not m:
            errs.append(f"{name}: runbook_url {url!r} is not <base>/docs/runbook.md#<section>")
            continue
        if m.group(1) not in anchors:
            errs.append(f"{name}: runbook section #{m.group(1)} does not exist in {runbook}")
        if m.group(1) != slug(name):
            errs.append(f"{name}: runbook_url points at #{m.group(1)}, not its own section #{slug(name)}")
        used.add(m.group(1))
    for h in headings:
        if h.startswith("Orders") and slug(h) not in used:
            errs.append(f"runbook section {h!r} has no alert")
    return errs


CONSUMERS = ("billing", "archive")


def contract_names(contract):
    """{metric name: service} from the tables of docs/metrics.md. A row
    named orders_<consumer>_... stands for one name per service it lists."""
    names = {}
    for line in Path(contract).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`"):
            name = cells[0].strip("`")
            if "<consumer>" in name:
                for svc in (x.strip() for x in cells[5].split(",")):
                    if svc not in CONSUMERS:
                        sys.exit(f"{contract}: {name} lists {svc!r}, not a consumer")
                    names[name.replace("<consumer>", svc)] = svc
            else:
                names[name] = cells[5]
    return names


def expr_metrics(expr):
    found = set()
    for m in re.finditer(r'__name__=~"([^"]+)"', expr):
        found.update(m.group(1).split("|"))
    expr = re.sub(r'"[^"]*"', '""', expr)  # label values are not names
    for m in re.finditer(r"\b(?:orders|process|kube)_[a-z0-9_]+\b", expr):
        found.add(m.group(0))
    if re.search(r"\bup\{", expr):
        found.add("up")
    return {HIST_SUFFIX.sub("", n) if HIST_SUFFIX.search(n) else n for n in found}


def cmd_metrics(rendered, dashboard, contract):
    known = contract_names(contract)
    errs = []

    def check(where, expr):
        for n in sorted(expr_metrics(expr)):
            if n not in known and HIST_SUFFIX.sub("", n) not in known:
                errs.append(f"{where}: metric {n} is not in {contract}")

    for a in alerts(prometheus_rule(rendered)):
        check(f"alert {a['alert']}", a["expr"])
    dash = json.loads(Path(dashboard).read_text())
    if not dash.get("uid") or not dash.get("title"):
        errs.append("dashboard needs uid and title")
    ds = [v for v in dash.get("templating", {}).get("list", []) if v.get("type") == "datasource"]
    if not ds:
        errs.append("dashboard needs a datasource variable (no hard-coded datasource uid)")
    n_targets = 0
    for p in dash.get("panels", []):
        for t in p.get("targets", []):
            n_targets += 1
            check(f"panel {p.get('title')!r}", t["expr"])
            if t.get("datasource", {}).get("uid") != "${datasource}":
                errs.append(f"panel {p.get('title')!r}: target not on ${{datasource}}")
    if n_targets == 0:
        errs.append("dashboard has no queries")
    titles = " ".join(p.get("title", "") for p in dash.get("panels", []))
    for must in ("ingress-auth", "publisher", "billing", "archive", "lag", "Dead letters"):
        if must not in titles:
            errs.append(f"dashboard has no panel or row about {must!r}")
    return errs


def cmd_servicemonitor(rendered):
    ds = docs(rendered)
    sms = [d for d in ds if d["kind"] == "ServiceMonitor"]
    if len(sms) != 1:
        return [f"expected one ServiceMonitor, found {len(sms)}"]
    spec, errs = sms[0]["spec"], []
    eps = spec.get("endpoints", [])
    if not eps or any(e.get("port") != "admin" or e.get("path") != "/metrics" for e in eps):
        errs.append(f"ServiceMonitor endpoints must be port admin, path /metrics: {eps}")
    exprs = {e["key"]: e for e in spec["selector"].get("matchExpressions", [])}
    comps = exprs.get("app.kubernetes.io/component", {}).get("values", [])
    for svc in ("ingress-auth", "publisher", "billing", "archive"):
        if svc not in comps:
            errs.append(f"ServiceMonitor does not select {svc}")
            continue
        services = [d for d in ds if d["kind"] == "Service"
                    and d["metadata"]["labels"].get("app.kubernetes.io/component") == svc
                    and any(p.get("name") == "admin" for p in d["spec"]["ports"])]
        work = [d for d in ds if d["kind"] in ("Deployment", "StatefulSet")
                and d["metadata"]["labels"].get("app.kubernetes.io/component") == svc]
        if len(services) != 1 or len(work) != 1:
            errs.append(f"{svc}: expected one Service with an admin port and one workload")
            continue
        sp = next(p for p in services[0]["spec"]["ports"] if p["name"] == "admin")
        c = work[0]["spec"]["template"]["spec"]["containers"][0]
        cport = [p for p in c.get("ports", []) if p.get("name") == sp.get("targetPort")]
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        admin_env = [v for k, v in env.items() if k.endswith("_ADMIN_PORT")]
        if not cport or str(cport[0]["containerPort"]) not in admin_env:
            errs.append(f"{svc}: Service port admin -> {sp.get('targetPort')} is not the container's *_ADMIN_PORT {admin_env}")
    return errs


def cmd_dashrules(dashboard, outfile):
    """Grafana variables replaced by values that keep the PromQL valid."""
    dash = json.loads(Path(dashboard).read_text())
    rules = []
    for p in dash.get("panels", []):
        for t in p.get("targets", []):
            expr = t["expr"].replace("$__rate_interval", "1m").replace("$namespace", "orders")
            if "$" in expr.replace("$1", ""):
                sys.exit(f"panel {p.get('title')!r}: unknown variable in {expr}")
            rules.append({"record": f"dashboard:panel{p['id']}_{t['refId']}", "expr": expr})
    Path(outfile).write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    return []


def cmd_sources(contract, root):
    known = contract_names(contract)
    errs = []
    shared = Path(root) / "common" / "consumer_stats.c"
    templates = re.findall(r'"orders_%s_([a-z0-9_]+)"', shared.read_text()) if shared.exists() else []
    if shared.exists() and not templates:
        errs.append(f"{shared}: no \"orders_%s_<name>\" templates found")
    for svc in ("ingress-auth", "publisher", "billing", "archive"):
        d = Path(root) / "services" / svc
        code = "".join(p.read_text() for p in sorted(d.glob("*.c"))) if d.is_dir() else ""
        registered = set(re.findall(r'"(orders_[a-z0-9_]+)"', code))
        for m in re.finditer(r'consumer_stats_init\([^;]*?"([a-z-]+)"', code):
            if m.group(1) != svc:
                errs.append(f"services/{svc} registers the consumer families as {m.group(1)!r}")
            registered.update(f"orders_{m.group(1)}_{t}" for t in templates)
        if not registered:
            continue  # service not written yet: the contract leads
        want = {n for n, s in known.items() if s == svc}
        for n in sorted(want - registered):
            errs.append(f"{svc}: contract metric {n} is not registered in services/{svc}")
        for n in sorted(registered - want):
            errs.append(f"{svc}: services/{svc} registers {n}, which docs/metrics.md lacks")
    return errs


def main(argv):
    cmds = {"extract": (cmd_extract, 2), "runbook": (cmd_runbook, 2),
            "metrics": (cmd_metrics, 3), "sources": (cmd_sources, 2),
            "servicemonitor": (cmd_servicemonitor, 1), "dashrules": (cmd_dashrules, 2)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        sys.exit(__doc__)
    fn, _ = cmds[argv[1]]
    errs = fn(*argv[2:])
    for e in errs:
        print(e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
