# gnuplot: bootstrap wall time and server peak RSS against N, long poll and
# plain polling, from bootstrap.sh's DATA lines "mode n wall_ms rss_kib".
# Usage: gnuplot -e "data='FILE'; out='bootstrap.png'" bootstrap.gp
set terminal pngcairo size 1000,420 noenhanced font ",10"
set output out
set multiplot layout 1,2 title "cfgsync serve-exec bootstrap (one connection a node)"
set logscale xy
set grid
set key top left
set xlabel "nodes (N)"
set xtics ("1 000" 1000, "10 000" 10000, "100 000" 100000)
set xrange [600:170000]
long = "< grep '^long ' " . data
plain = "< grep '^plain ' " . data
set ylabel "wall, first registration to last 200 (s)"
plot long using 2:($3 / 1000) \
	with linespoints lw 2 pt 7 title "long poll (?wait=30)", \
     plain using 2:($3 / 1000) \
	with linespoints lw 2 pt 5 title "plain polling (250 ms)"
set ylabel "server peak RSS, VmHWM (MiB)"
plot long using 2:($4 / 1024) \
	with linespoints lw 2 pt 7 title "long poll (?wait=30)", \
     plain using 2:($4 / 1024) \
	with linespoints lw 2 pt 5 title "plain polling (250 ms)"
unset multiplot
