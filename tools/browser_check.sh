#!/bin/sh
# Renders the two kinds of report page in headless Chromium (part of
# `make check-full`):
#   tools/browser_check.sh NANPROBE_BINARY [SCREENSHOT_DIR]
# It makes a NaN report (`nanprobe demo`) and a comparison (`nanprobe ablate`
# of two tiny arms, one of which goes NaN), opens index.html and
# compare/index.html in Chromium, and checks that every <img> loaded (complete
# with a natural width) and that the verdict card is there with its Cause,
# Path and Fix rows. A copy of each page with a checking script appended is
# what Chromium opens, so the report itself carries no script. Screenshots
# of both pages go to SCREENSHOT_DIR (default build/screenshots) to be
# looked at.
set -u
binary=$1
shots=${2:-build/screenshots}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "browser check: chromium is not installed (apt-get install chromium)"
    exit 1
fi
mkdir -p "$shots"
shots=$(cd "$shots" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$binary" demo -o "$work/demo" > "$work/demo.log" 2>&1 || { cat "$work/demo.log"; exit 1; }
"$binary" ablate --grid lr=1e-3,1e30 --depth 18 --width 2 --clip 4x8x8x1 --classes 3 --batch 2 --train-clips 8 \
    --val-clips 2 --epochs 2 -o "$work/grid" > "$work/grid.log" 2>&1 || { cat "$work/grid.log"; exit 1; }
failed=0
check_page() { # PAGE NAME NEED_CARD
    page=$1
    dir=$(dirname "$page")
    probe="$dir/browser-check.html"
    cat "$page" > "$probe"
    cat >> "$probe" <<'SCRIPT'
<script>
window.addEventListener('load', function () {
  var images = document.images, broken = [];
  for (var i = 0; i < images.length; i++)
    if (!images[i].complete || images[i].naturalWidth === 0) broken.push(images[i].getAttribute('src'));
  var card = document.getElementById('verdict-card'), rows = [];
  if (card) card.querySelectorAll('tr').forEach(function (r) { rows.push(r.className); });
  var out = document.createElement('pre');
  out.id = 'browser-check';
  out.textContent = 'RESULT images=' + images.length + ' broken=' + broken.length + ' [' + broken.join(' ') +
                    '] card=' + (card ? rows.join(',') : 'none') + ' END';
  document.body.appendChild(out);
});
</script>
SCRIPT
    result=$("$browser" --headless --no-sandbox --disable-gpu --allow-file-access-from-files \
             --virtual-time-budget=10000 --dump-dom "file://$probe" 2>/dev/null | sed -n 's/.*RESULT \(.*\) END.*/\1/p')
    "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1400 \
        --screenshot="$shots/$2.png" "file://$page" > /dev/null 2>&1
    rm -f "$probe"
    images=$(printf '%s' "$result" | sed -n 's/^images=\([0-9]*\).*/\1/p')
    broken=$(printf '%s' "$result" | sed -n 's/.* broken=\([0-9]*\).*/\1/p')
    card=$(printf '%s' "$result" | sed -n 's/.* card=\(.*\)$/\1/p')
    ok=1
    [ -n "$images" ] && [ "$images" -ge 3 ] && [ "$broken" = 0 ] || ok=0
    if [ "$3" = card ]; then
        case ",$card," in *,Cause,*) ;; *) ok=0 ;; esac
        case ",$card," in *,Path,*) ;; *) ok=0 ;; esac
        case ",$card," in *,Fix,*) ;; *) ok=0 ;; esac
        case ",$card," in *,Origin,*) ;; *) ok=0 ;; esac
    fi
    if [ $ok = 1 ]; then
        echo "browser check: $2: $images images, all loaded; card rows: $card (screenshot $shots/$2.png)"
    else
        echo "browser check: $2 FAILED: ${result:-no result from Chromium}"
        failed=$((failed + 1))
    fi
}
check_page "$work/demo/report/index.html" report card
check_page "$work/grid/compare/index.html" compare nocard
check_page "$work/grid/arm-2-lr_1e30/report/index.html" arm-report card
echo "browser check: $failed failed"
[ "$failed" -eq 0 ]
