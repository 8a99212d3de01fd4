#!/bin/sh
# Installs nanprobe under a prefix, or removes it again:
#   tools/install.sh BINARY PREFIX      the binary, its man pages, its bash completion
#   tools/install.sh --uninstall PREFIX
# The man pages (nanprobe(1), nanprobe-COMMAND(1)) and the completion are
# printed by the binary itself (`nanprobe help --man/--completion`) from the
# same tables as its parser, so they always match the binary installed.
set -eu
if [ "$1" = --uninstall ]; then
    prefix=$2
    rm -f "$prefix/bin/nanprobe" "$prefix/share/man/man1/nanprobe.1" "$prefix"/share/man/man1/nanprobe-*.1 \
          "$prefix/share/bash-completion/completions/nanprobe"
    echo "removed nanprobe from $prefix"
    exit 0
fi
binary=$1
prefix=$2
bin=$prefix/bin
man=$prefix/share/man/man1
completions=$prefix/share/bash-completion/completions
mkdir -p "$bin" "$man" "$completions"
install -m 755 "$binary" "$bin/nanprobe"
"$binary" help --man > "$man/nanprobe.1"
for command in $("$binary" help | sed -n 's/^  \([a-z-]*\) .*/\1/p'); do
    "$binary" help "$command" --man > "$man/nanprobe-$command.1"
done
"$binary" help --completion > "$completions/nanprobe"
chmod 644 "$man"/nanprobe*.1 "$completions/nanprobe"
echo "installed $bin/nanprobe, $(ls "$man"/nanprobe*.1 | wc -l) man pages in $man, bash completion in $completions"
