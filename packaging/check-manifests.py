#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Structural check of Kubernetes manifests, for a tree without a cluster.

    check-manifests.py FILE.yaml...

Parses every YAML document with PyYAML and checks what the API server
would reject or what would break silently: apiVersion/kind/metadata,
known field names in the parts of a pod spec lazyfree uses (a typo such
as "volumeMount" is otherwise dropped without a word by older clients),
selector vs template labels, every volumeMount naming a declared volume,
configMap volumes naming a ConfigMap of the same files and namespace,
named probe ports existing, unique container names, string env values
and annotations.  Prints one TAP line per document and exits 1 on any
error.
"""

import sys

import yaml

KINDS = {
    ("v1", "Namespace"),
    ("v1", "ConfigMap"),
    ("apps/v1", "DaemonSet"),
}

POD_SPEC_KEYS = {
    "hostPID", "hostNetwork", "hostIPC", "nodeSelector", "tolerations",
    "terminationGracePeriodSeconds", "initContainers", "containers",
    "volumes", "serviceAccountName", "priorityClassName", "affinity",
    "securityContext", "dnsPolicy", "restartPolicy",
}
CONTAINER_KEYS = {
    "name", "image", "imagePullPolicy", "command", "args", "env", "envFrom",
    "ports", "securityContext", "resources", "volumeMounts", "readinessProbe",
    "livenessProbe", "startupProbe", "workingDir",
}
SECURITY_CONTEXT_KEYS = {
    "privileged", "runAsNonRoot", "runAsUser", "runAsGroup",
    "allowPrivilegeEscalation", "readOnlyRootFilesystem", "capabilities",
    "seccompProfile",
}
VOLUME_MOUNT_KEYS = {"name", "mountPath", "readOnly", "subPath",
                     "mountPropagation"}
VOLUME_SOURCES = {"configMap", "emptyDir", "hostPath", "secret"}
PROBE_KEYS = {
    "httpGet", "exec", "tcpSocket", "periodSeconds", "initialDelaySeconds",
    "timeoutSeconds", "failureThreshold", "successThreshold",
}


class Doc:
    def __init__(self, where):
        self.where = where
        self.errors = []

    def err(self, msg):
        self.errors.append(msg)

    def need(self, obj, key, typ, path):
        if not isinstance(obj, dict) or key not in obj:
            self.err(f"{path}.{key}: missing")
            return None
        if not isinstance(obj[key], typ):
            self.err(f"{path}.{key}: is {type(obj[key]).__name__}, "
                     f"want {typ.__name__}")
            return None
        return obj[key]

    def only(self, obj, allowed, path):
        for k in obj:
            if k not in allowed:
                self.err(f"{path}.{k}: unknown field")


def check_metadata(d, doc, namespaced):
    md = d.need(doc, "metadata", dict, "")
    if md is None:
        return
    d.need(md, "name", str, ".metadata")
    if namespaced:
        d.need(md, "namespace", str, ".metadata")
    for field in ("labels", "annotations"):
        for k, v in (md.get(field) or {}).items():
            if not isinstance(v, str):
                d.err(f".metadata.{field}.{k}: value must be a string")


def check_configmap(d, doc):
    data = d.need(doc, "data", dict, "")
    for k, v in (data or {}).items():
        if not isinstance(v, str):
            d.err(f".data.{k}: value must be a string")


def check_container(d, c, path, volumes, init):
    d.only(c, CONTAINER_KEYS, path)
    d.need(c, "name", str, path)
    d.need(c, "image", str, path)
    for i, a in enumerate(c.get("command", []) + c.get("args", [])):
        if not isinstance(a, str):
            d.err(f"{path}.command[{i}]: must be a string")
    for e in c.get("env", []):
        if not isinstance(e.get("value", ""), str):
            d.err(f"{path}.env.{e.get('name')}: value must be a string")
    sc = c.get("securityContext", {})
    d.only(sc, SECURITY_CONTEXT_KEYS, path + ".securityContext")
    ports = {}
    for p in c.get("ports", []):
        if not isinstance(p.get("containerPort"), int):
            d.err(f"{path}.ports: containerPort must be an integer")
        if "name" in p:
            ports[p["name"]] = p.get("containerPort")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        pr = c.get(probe)
        if pr is None:
            continue
        if init:
            d.err(f"{path}.{probe}: not allowed in an init container")
        d.only(pr, PROBE_KEYS, f"{path}.{probe}")
        port = (pr.get("httpGet") or pr.get("tcpSocket") or {}).get("port")
        if isinstance(port, str) and port not in ports:
            d.err(f"{path}.{probe}: port '{port}' is not a named port")
    mounts = set()
    for m in c.get("volumeMounts", []):
        d.only(m, VOLUME_MOUNT_KEYS, f"{path}.volumeMounts.{m.get('name')}")
        if m.get("name") not in volumes:
            d.err(f"{path}.volumeMounts: '{m.get('name')}' is not a "
                  f"declared volume")
        if not str(m.get("mountPath", "")).startswith("/"):
            d.err(f"{path}.volumeMounts.{m.get('name')}: mountPath must be "
                  f"absolute")
        if m.get("mountPath") in mounts:
            d.err(f"{path}.volumeMounts: {m.get('mountPath')} twice")
        mounts.add(m.get("mountPath"))
    return ports


def check_daemonset(d, doc, configmaps):
    spec = d.need(doc, "spec", dict, "")
    if spec is None:
        return
    ns = doc.get("metadata", {}).get("namespace")
    sel = d.need(spec, "selector", dict, ".spec")
    tmpl = d.need(spec, "template", dict, ".spec")
    if sel is None or tmpl is None:
        return
    match = d.need(sel, "matchLabels", dict, ".spec.selector") or {}
    labels = tmpl.get("metadata", {}).get("labels", {})
    for k, v in match.items():
        if labels.get(k) != v:
            d.err(f".spec.selector.matchLabels.{k}: not in the template's "
                  f"labels")
    pod = d.need(tmpl, "spec", dict, ".spec.template")
    if pod is None:
        return
    d.only(pod, POD_SPEC_KEYS, ".spec.template.spec")
    volumes = {}
    for v in pod.get("volumes", []):
        name = v.get("name")
        if name in volumes:
            d.err(f".spec.template.spec.volumes: '{name}' twice")
        src = [k for k in v if k != "name"]
        if len(src) != 1 or src[0] not in VOLUME_SOURCES:
            d.err(f".spec.template.spec.volumes.{name}: want exactly one "
                  f"source of {sorted(VOLUME_SOURCES)}, have {src}")
        volumes[name] = v
        cm = v.get("configMap")
        if cm is not None and (ns, cm.get("name")) not in configmaps:
            d.err(f".spec.template.spec.volumes.{name}: ConfigMap "
                  f"{ns}/{cm.get('name')} is not in these manifests")
    containers = d.need(pod, "containers", list, ".spec.template.spec")
    if not containers:
        d.err(".spec.template.spec.containers: empty")
        return
    names = set()
    used = set()
    ports = {}
    for field, init in (("initContainers", True), ("containers", False)):
        for c in pod.get(field, []):
            path = f".spec.template.spec.{field}.{c.get('name')}"
            if c.get("name") in names:
                d.err(f"{path}: container name used twice")
            names.add(c.get("name"))
            used.update(m.get("name") for m in c.get("volumeMounts", []))
            ports.update(check_container(d, c, path, volumes, init))
    for name in volumes:
        if name not in used:
            d.err(f".spec.template.spec.volumes.{name}: mounted by no "
                  f"container")
    ann = tmpl.get("metadata", {}).get("annotations", {})
    if "prometheus.io/port" in ann:
        port = str(ann["prometheus.io/port"])
        if not port.isdigit() or int(port) not in ports.values():
            d.err(".spec.template.metadata.annotations: prometheus.io/port "
                  "is no container's port")


def main(paths):
    docs = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            try:
                loaded = list(yaml.safe_load_all(f))
            except yaml.YAMLError as e:
                print(f"not ok - {path}: YAML: {e}")
                return 1
        docs += [(f"{path}#{i}", doc) for i, doc in enumerate(loaded)
                 if doc is not None]
    configmaps = {(doc.get("metadata", {}).get("namespace"),
                   doc.get("metadata", {}).get("name"))
                  for _, doc in docs
                  if isinstance(doc, dict) and doc.get("kind") == "ConfigMap"}
    namespaces = {doc["metadata"]["name"] for _, doc in docs
                  if isinstance(doc, dict) and doc.get("kind") == "Namespace"}
    failed = 0
    print(f"1..{len(docs)}")
    for n, (where, doc) in enumerate(docs, 1):
        d = Doc(where)
        if not isinstance(doc, dict):
            d.err("not a mapping")
        else:
            kind = (doc.get("apiVersion"), doc.get("kind"))
            if kind not in KINDS:
                d.err(f"apiVersion/kind {kind} is not one this check knows")
            namespaced = kind[1] != "Namespace"
            check_metadata(d, doc, namespaced)
            ns = doc.get("metadata", {}).get("namespace")
            if namespaced and namespaces and ns not in namespaces:
                d.err(f".metadata.namespace: {ns} is not created here")
            if kind[1] == "ConfigMap":
                check_configmap(d, doc)
            elif kind[1] == "DaemonSet":
                check_daemonset(d, doc, configmaps)
        name = (f"{doc.get('kind')} {doc.get('metadata', {}).get('name')}"
                if isinstance(doc, dict) else "?")
        for e in d.errors:
            print(f"# {where}: {e}")
        print(f"{'not ok' if d.errors else 'ok'} {n} - {where}: {name}")
        failed += bool(d.errors)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
