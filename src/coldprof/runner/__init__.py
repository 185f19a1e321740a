"""One execution environment: interpreter, filesystem, cgroups, Runtime API, child scripts."""
