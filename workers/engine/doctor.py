"""`python -m workers.engine.doctor`: says whether this host can run builds, and if not, why.

`make run` (bin/run-dev) calls it after installing the system packages, so that a missing
bubblewrap, seccomp binding or build account shows at start rather than as failed races.
"""

import os
import sys


def report(config):
    """(ready, text) for an EngineConfig."""
    from workers.engine.sandbox import Sandbox

    sandbox = Sandbox(config)
    if sandbox.error:
        return False, f"builds cannot run on this host: {sandbox.error}"
    lines = [f"sandbox: {sandbox.describe()}", sandbox.limits_report(), *sandbox.warnings]
    return True, "\n".join(lines)


def main():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "buildarena.settings")
    django.setup()
    from django.conf import settings

    from workers.engine.config import EngineConfig

    ready, text = report(EngineConfig.from_settings(settings))
    print(text, file=sys.stdout if ready else sys.stderr)
    return 0 if ready else 1


if __name__ == "__main__":
    sys.exit(main())
