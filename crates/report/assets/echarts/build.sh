#!/usr/bin/env bash
# Rebuild echarts.segmint.min.js: Apache ECharts with only the charts and components the
# report uses (line, bar, heatmap, sankey; grid, tooltip, legend, title, visualMap,
# dataset; the SVG renderer), as one IIFE that sets `window.echarts`. The result is
# committed so that building segmint needs no npm; run this only to upgrade ECharts.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
cp "$here/entry.js" "$work/"
cd "$work"
npm init -y > /dev/null
npm install --silent --no-audit --no-fund echarts@6.1.0 esbuild@0.25
npx esbuild entry.js --bundle --minify --format=iife --legal-comments=eof \
  --outfile="$here/echarts.segmint.min.js"
cp node_modules/echarts/LICENSE "$here/LICENSE"
cp node_modules/echarts/NOTICE "$here/NOTICE"
