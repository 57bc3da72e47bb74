# Sourced by the bench scripts: the harness they share.
#
#   log MSG...          a timestamped line on stderr
#   die MSG...          log it and exit 1
#   calc EXPR [PLACES]  awk arithmetic, printed with PLACES decimals (3)
#   cpu_ticks PID       the process's utime+stime in clock ticks (/proc/PID/stat)
#   port_free PORT      whether nothing listens on 127.0.0.1:PORT
#   ratio A B           "A/B×", or "—" when B is 0
#   median              the median of the numbers on stdin ("nan" when none)

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
calc() { awk "BEGIN {printf \"%.${2:-3}f\", $1}"; }
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
port_free() { [[ -z $(ss -ltnH "sport = :$1") ]]; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f×", a / b; else print "—"}'; }
median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
