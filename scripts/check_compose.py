"""Cross-reference checks of docker-compose.yml that a JSON schema cannot express.

scripts/lint.sh validates the file's shape against the Compose specification (check-jsonschema's
vendored compose-spec schema); this adds what a Docker engine would reject or silently get wrong:

- every `depends_on` names a service, and an always-on service never waits for a profile-only one;
- every named volume and network used is declared, and every declared one is used;
- every bind-mount source and the build's Dockerfile exist in the repository;
- every `${VARIABLE}` that Compose interpolates is documented in docs/configuration.md and in
  .env.example.

Usage: python scripts/check_compose.py [docker-compose.yml]   (exit 1 on any problem)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
BUILTIN_NETWORKS = {"default", "host", "none"}


def _service_names(items: Any) -> list[str]:
    """depends_on / networks come as a list of names or as a mapping name -> options."""
    if isinstance(items, dict):
        return [str(k) for k in items]
    if isinstance(items, list):
        return [str(i) for i in items]
    return []


def _walk_strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in (*_walk_strings(key), *_walk_strings(value))]
    if isinstance(node, list):
        return [s for item in node for s in _walk_strings(item)]
    return []


def check(compose_path: Path) -> list[str]:
    problems: list[str] = []
    text = compose_path.read_text(encoding="utf-8")
    data = YAML(typ="safe").load(text)
    base = compose_path.parent
    services: dict[str, Any] = data.get("services") or {}
    declared_volumes = set((data.get("volumes") or {}).keys())
    declared_networks = set((data.get("networks") or {}).keys())
    used_volumes: set[str] = set()
    used_networks: set[str] = set()

    for name, service in services.items():
        profiles = service.get("profiles") or []
        for dependency in _service_names(service.get("depends_on")):
            if dependency not in services:
                problems.append(f"{name}: depends_on names an unknown service {dependency!r}")
            elif not profiles and services[dependency].get("profiles"):
                problems.append(f"{name}: always started, but depends on profile-only service {dependency!r}")
        for network in _service_names(service.get("networks")):
            used_networks.add(network)
            if network not in declared_networks and network not in BUILTIN_NETWORKS:
                problems.append(f"{name}: network {network!r} is not declared under `networks:`")
        for volume in service.get("volumes") or []:
            if isinstance(volume, dict):
                source = str(volume.get("source") or "")
            else:
                source = str(volume).split(":", 1)[0] if ":" in str(volume) else ""
            if not source:
                continue  # an anonymous volume
            if source.startswith((".", "/", "~")):
                if source.startswith(".") and not (base / source).exists():
                    problems.append(f"{name}: bind-mount source {source!r} does not exist")
            else:
                used_volumes.add(source)
                if source not in declared_volumes:
                    problems.append(f"{name}: named volume {source!r} is not declared under `volumes:`")
        build = service.get("build")
        if build is not None:
            context = base / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            if not (context / dockerfile).exists():
                problems.append(f"{name}: build file {context / dockerfile} does not exist")

    problems += [f"volume {v!r} is declared but no service uses it" for v in sorted(declared_volumes - used_volumes)]
    problems += [
        f"network {n!r} is declared but no service uses it"
        for n in sorted(declared_networks - used_networks - BUILTIN_NETWORKS)
    ]

    variables = sorted(set(INTERPOLATION.findall(" ".join(_walk_strings(data)))))
    docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for variable in variables:
        if f"`{variable}`" not in docs:
            problems.append(f"${{{variable}}} is used by the compose file but not documented in docs/configuration.md")
        if not re.search(rf"^#?\s*{variable}=", example, re.MULTILINE):
            problems.append(f"${{{variable}}} is used by the compose file but missing from .env.example")
    return problems


def main() -> int:
    compose_path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docker-compose.yml"
    problems = check(compose_path)
    for problem in problems:
        print(f"{compose_path.name}: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"{compose_path.name}: cross-references ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
