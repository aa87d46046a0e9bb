#!/bin/bash
# make install honours PREFIX and DESTDIR: programs, man pages, completions,
# headers; every program answers --help and --version.
. "$(dirname "$0")/lib.sh"
PROGS="onyx-coord onyx-peer onyx-plan onyx-queue onyx-submit onyx-watch"
plan 8
make -s -C "$ONYX_ROOT" install DESTDIR="$T/stage" PREFIX=/opt/onyx > "$T/make.out" 2>&1
S=$T/stage/opt/onyx
check "every program is installed under DESTDIR/PREFIX/bin" \
    sh -c "for p in $PROGS; do test -x $S/bin/\$p || exit 1; done"
check "and its man page" \
    sh -c "for p in $PROGS; do test -f $S/share/man/man1/\$p.1 || exit 1; done"
check "onyx(7)" test -f "$S/share/man/man7/onyx.7"
check "bash and zsh completions" \
    sh -c "for p in $PROGS; do test -f $S/share/bash-completion/completions/\$p && test -f $S/share/zsh/site-functions/_\$p || exit 1; done"
check "the public header" test -f "$S/include/onyx/onyx.h"
check "every installed program prints its version" \
    sh -c "for p in $PROGS; do $S/bin/\$p --version | grep -Eq \"^\$p [0-9]+\\.[0-9]+\\.[0-9]+\$\" || exit 1; done"
check "and its usage with --help, exit 0" \
    sh -c "for p in $PROGS; do $S/bin/\$p --help | grep -q \"usage: \$p\" || exit 1; done"
check "the man pages pass mandoc -Tlint" sh -c "mandoc -Tlint -Wwarning $S/share/man/man1/*.1 $S/share/man/man7/onyx.7"
done_testing
