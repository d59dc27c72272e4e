#!/busybox sh
# PID 1 of the UML lab's guest kernel, from the initramfs PgHaConsole.Lab builds (busybox-static, this script).
# The guest runs the machine's own programs: /usr and /etc come from the machine through hostfs, read-only, with a
# tmpfs overlay on top, so nothing the guest writes reaches the machine. The lab's state dir is mounted at the same
# path as on the machine, so the files `up` wrote there (keys, sshd configs, boot scripts) keep their paths.
# From the kernel command line (arguments with '=' the kernel does not know become init's environment):
#   pghalab_state   the state dir
B=/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
$B mkdir -p /dev/pts /dev/shm
$B mount -t devpts devpts /dev/pts
$B mount -t tmpfs tmpfs /dev/shm
$B mount -t tmpfs -o mode=1777 tmpfs /tmp
$B mount -t tmpfs -o mode=0755 tmpfs /mnt/upper
$B mkdir -p /mnt/upper/usr /mnt/upper/usr-work /mnt/upper/etc /mnt/upper/etc-work
$B mount -t hostfs -o ro,/usr hostfs /mnt/usr || { echo "uml-init: cannot mount the machine's /usr"; $B poweroff -f; }
$B mount -t hostfs -o ro,/etc hostfs /mnt/etc || { echo "uml-init: cannot mount the machine's /etc"; $B poweroff -f; }

# The kernel's modules come from the installed user-mode-linux package, for whatever release this kernel is.
rel=$($B uname -r)
$B insmod "/mnt/usr/lib/uml/modules/$rel/kernel/fs/overlayfs/overlay.ko" || { echo "uml-init: no overlay module for $rel"; $B poweroff -f; }
$B mount -t overlay -o lowerdir=/mnt/usr,upperdir=/mnt/upper/usr,workdir=/mnt/upper/usr-work overlay /usr
$B mount -t overlay -o lowerdir=/mnt/etc,upperdir=/mnt/upper/etc,workdir=/mnt/upper/etc-work overlay /etc
$B mkdir -p /usr/lib/modules
$B ln -s "/usr/lib/uml/modules/$rel" "/usr/lib/modules/$rel"
# busybox's modprobe reads modules.dep; the kernel asks it too when iptables needs a match module.
printf '#!/busybox sh\nexec /busybox modprobe "$@"\n' >/sbin-modprobe
$B chmod 0755 /sbin-modprobe
echo /sbin-modprobe >/proc/sys/kernel/modprobe

# This kernel has no nf_tables IPv4 family: iptables uses the legacy backend here.
for t in iptables iptables-save iptables-restore; do
    $B ln -sf "/usr/sbin/$(echo "$t" | $B sed 's/^iptables/iptables-legacy/')" "/etc/alternatives/$t"
done

# Not the machine's: its PostgreSQL cluster configuration and its SSH host keys.
$B rm -rf /etc/postgresql/*/main /etc/ssh/ssh_host_*
$B mkdir -p /var/log /var/lib /var/tmp /root /data10
$B ln -sfn /run /var/run
$B hostname pghalab-guest

[ -n "${pghalab_state:-}" ] || { echo "uml-init: pghalab_state is not set"; $B poweroff -f; }
$B mkdir -p "$pghalab_state"
$B mount -t hostfs -o "$pghalab_state" hostfs "$pghalab_state" || { echo "uml-init: cannot mount $pghalab_state"; $B poweroff -f; }

# busybox init as PID 1 reaps every orphan; it runs the lab's set-up once and then only waits.
printf '::sysinit:/bin/sh %s/uml/guest-up.sh\n' "$pghalab_state" >/etc/inittab
exec $B init
