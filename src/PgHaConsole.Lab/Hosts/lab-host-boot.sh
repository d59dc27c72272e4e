#!/bin/sh
# Boots one lab host. Runs as PID of the future sshd inside `ip netns exec <ns> unshare --mount --uts`,
# so every mount below is private to this host and disappears with its last process.
# Positional arguments (no values are ever spliced into this text):
#   $1 hostname   $2 host state dir (holds data10/, etc-keepalived/, etc-haproxy/)
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

# exec keeps this PID, so the pid file names the sshd that holds the host's namespaces.
echo $$ >"$pidfile"
exec /usr/sbin/sshd -D -e -f "$sshd_config"
