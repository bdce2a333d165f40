"""Run every bench/bench_*.py module and print its ratios (`make bench`).

Name topics to run only those: `make bench TOPICS="surveys beat"` (or `scripts/bench.sh surveys beat`).
``BENCH_SCALE=full`` runs the volume-sensitive benches at 3,000,000 incidents (bench/volume.py).
"""

import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anshun.settings.test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("load_anshun", verbosity=0)
    import bench

    topics = sys.argv[1:]
    for module in pkgutil.iter_modules(bench.__path__):
        if not module.name.startswith("bench_"):
            continue
        if topics and module.name.removeprefix("bench_") not in topics:
            continue
        print(f"== {module.name}", flush=True)
        started = time.monotonic()
        for item in importlib.import_module(f"bench.{module.name}").run():
            print(item if isinstance(item, str) else item.line(), flush=True)
        print(f"   ({time.monotonic() - started:.0f} s with its data)", flush=True)


if __name__ == "__main__":
    main()
