#!/usr/bin/env bash
# What the compare tests need on a fresh machine (for .ci/run to call as root before `npm test`):
#   chromium            test/compare/report-html.test.ts renders report.html headless;
#   fonts-liberation,   text in the PNG plots (resvg uses the system fonts; the SVGs name Liberation Sans first);
#   fonts-dejavu-core
#   slurm-wlm, munge    test/compare/slurm.test.ts starts its own one-node cluster (munged, slurmctld, slurmd) in a
#                       temp folder on free ports and stops it; no daemon has to run beforehand.
# Without them those tests skip; the rest of the compare tests need nothing beyond `npm ci`.
set -euo pipefail
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends chromium fonts-liberation fonts-dejavu-core slurm-wlm munge >/dev/null
fi
