"""The ``backproplab`` command.

    backproplab exercises   generate exercises/ from solutions/
    backproplab grade       grade submitted notebooks
    backproplab classroom   a GitHub Classroom autograding workflow for one assignment
    backproplab site        build the course as a static HTML site (site/)

Each subcommand lives in its own module, which gives ``add_arguments(parser)`` and
``run(args) -> exit status``; modules are imported only when their subcommand runs,
so that one command does not pay for the imports of another.
"""

import argparse
import importlib
import sys

# name -> (module, one-line help)
SUBCOMMANDS = {
    "exercises": ("backproplab.grading.generate", "generate exercise notebooks from solutions"),
    "grade": ("backproplab.grading.grader", "grade submitted notebooks"),
    "site": ("backproplab.site", "build the course as a static HTML site"),
    "classroom": ("backproplab.grading.classroom",
                  "print a GitHub Classroom autograding workflow for one assignment"),
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="backproplab",
                                     description="Tools for the backproplab course.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:  # a tool this command needs is not installed
                print(f"backproplab {name}: {exc}", file=sys.stderr)
                return 2
            module.add_arguments(sub)
            sub.set_defaults(run=module.run)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
