#!/bin/sh
# Boots one lab host. Runs as PID of the future sshd inside `ip netns exec <ns> unshare --mount --uts`,
# so every mount below is private to this host and disappears with its last process.
# Positional arguments (no values are ever spliced into this text):
#   $1 hostname   $2 host state dir (holds data10/, etc-keepalived/, etc-haproxy/, etc-sysctl.d/, etc-pghaconsole/, root-home/)
#   $3 sshd_config   $4 pid file to write   $5 log file
set -eu
name=$1; hostdir=$2; sshd_config=$3; pidfile=$4; logfile=$5

# Never hold the caller's stdout/stderr: the caller may be a test host waiting for its pipes to close.
exec >>"$logfile" 2>&1 </dev/null

hostname "$name"

# A fresh /run per host: its own sshd privilege-separation dir and PostgreSQL socket directory.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/sshd /run/postgresql /run/haproxy /run/keepalived /run/lock
chmod 0755 /run/sshd
chown postgres:postgres /run/postgresql
chmod 2775 /run/postgresql

mount --bind "$hostdir/data10" /data10
mount --bind "$hostdir/etc-keepalived" /etc/keepalived
mount --bind "$hostdir/etc-haproxy" /etc/haproxy
mount --bind "$hostdir/etc-sysctl.d" /etc/sysctl.d
mount --bind "$hostdir/root-home" /root
mkdir -p "$hostdir/etc-pghaconsole"
mkdir -p /etc/pghaconsole
mount --bind "$hostdir/etc-pghaconsole" /etc/pghaconsole
# Per-node programs the console installs (the LVS-DR real-server script marks by the peer's MAC): the hosts share
# the machine's /usr (or the UML guest's), so each host gets its own /usr/local/sbin.
mkdir -p "$hostdir/usr-local-sbin"
[ -d /usr/local/sbin ] || mkdir -p /usr/local/sbin
mount --bind "$hostdir/usr-local-sbin" /usr/local/sbin

# What the host's init does at every boot (the lab's hosts have no systemd; this is their init).
# 1. The network sysctls of its /etc/sysctl.d, as procps or systemd-sysctl would apply them. Only keys that belong
#    to the host's own network namespace (ip_nonlocal_bind, ip_forward, net.ipv4.conf.*): every other key is the
#    machine's kernel, shared by all hosts, and the lab never touches it.
for f in /etc/sysctl.d/*.conf; do
    [ -f "$f" ] || continue
    sed -n 's/^[[:space:]]*\(net\.ipv4\.\(ip_nonlocal_bind\|ip_forward\|conf\.[A-Za-z0-9_.-]*\)\)[[:space:]]*=[[:space:]]*\([0-9]*\)[[:space:]]*$/\1=\3/p' "$f" |
        while read -r kv; do sysctl -q -w "$kv" || echo "boot: sysctl $kv failed"; done
done

# 2. What the host enables at boot: the executables in /etc/pghaconsole/boot.d, in name order, one after the other,
#    in the background with a clean environment (an init's), while sshd starts: the lab's `systemctl enable`.
#    The console's setup wizard writes them (PostgreSQL behind its boot guard, HAProxy, keepalived, the LVS-DR real
#    server); a host without them starts nothing but sshd.
if [ -d /etc/pghaconsole/boot.d ]; then
    (
        for f in /etc/pghaconsole/boot.d/*; do
            [ -f "$f" ] && [ -x "$f" ] || continue
            echo "boot: $(date -u +%H:%M:%S) $f"
            env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$f" || echo "boot: $f failed (exit $?)"
        done
        echo "boot: $(date -u +%H:%M:%S) done"
    ) </dev/null >>"$logfile" 2>&1 &
fi

# exec keeps this PID, so the pid file names the sshd that holds the host's namespaces.
echo $$ >"$pidfile"
exec /usr/sbin/sshd -D -e -f "$sshd_config"
