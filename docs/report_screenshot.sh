#!/bin/sh
# Regenerate docs/report.png: a real folder made as a scheduled job makes it (a run, a no-op rerun,
# a rerun over the grown input), its report, and the page as headless Chromium draws it.
# Needs: apt-get install chromium fonts-noto-cjk; pip install -e ".[report]"; ../shared/data.
# Usage (from the repository root): sh docs/report_screenshot.sh [WORKDIR]
set -eu
W=${1:-$(mktemp -d)}
D=$(cd "$(dirname "$0")/.." && pwd)
DATA=$D/../shared/data
mkdir -p "$W/in"
for f in cc-2020-34-sample.warc.gz cc-2014-35-sample.warc wget-2024-sample-0000.warc.gz cc-2024-22-whirlwind.warc.gz; do
    ln -sf "$DATA/warc/$f" "$W/in/$f"
done
run() {
    python -m curate.cli run "$W/in" -o "$W/out" --recipe fineweb-plus --workers 2 --no-progress \
        --tokenizer "$DATA/tokenizers/gpt2.json" --settle-seconds 0 --write-dropped
}
run && run                                                # the second run has nothing to do
ln -sf "$DATA/warc/wget-2024-sample-0001.warc.gz" "$W/in/"
cp "$DATA/warc/wget-2024-sample-0000.warc.gz" "$W/in/wget-copy.warc.gz"   # the input grew: near-duplicates
run
python -m curate.cli report "$W/out" -o "$W/report.html"
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile" \
    --screenshot="$W/full.png" --window-size=1400,14000 "file://$W/report.html" 2>/dev/null
rm -rf "$profile"
# the page is ~1400x10000: scaled to 60% and reduced to 128 colours (octree keeps the chart colours) it stays under 500 KB
python - "$W/full.png" "$D/docs/report.png" <<'EOF'
import sys

from PIL import Image

im = Image.open(sys.argv[1]).convert("RGB")
bg = im.getpixel((im.width - 1, im.height - 1))
bottom = im.height
while bottom > 1 and all(im.getpixel((x, bottom - 1)) == bg for x in range(0, im.width, 7)):
    bottom -= 1
im = im.crop((0, 0, 1300, min(bottom + 20, im.height)))
im = im.resize((im.width * 3 // 5, im.height * 3 // 5), Image.LANCZOS)
im.quantize(colors=128, method=Image.Quantize.FASTOCTREE).save(sys.argv[2], optimize=True)
print(sys.argv[2], im.size)
EOF
