package pvesim

import (
	"fmt"
	"slices"
)

// Parameter lists of the write endpoints, as the official API schema (apidata.json) declares them; the
// fidelity test compares them with the schema. Property-string formats are validated by the handlers.

// qemuOptions: the VM options that creating a VM (POST /nodes/{node}/qemu) and changing its configuration
// (POST and PUT /nodes/{node}/qemu/{vmid}/config) all take, with node and vmid, as the official API schema
// declares them.
func qemuOptions() []param {
	return []param{
		pBool("acpi").opt(),
		pStr("affinity").opt(),
		pStr("agent").opt(),
		pBool("allow-ksm").opt(),
		pStr("amd-sev").opt(),
		pStr("arch").opt().enum("x86_64", "aarch64"),
		pStr("args").opt(),
		pStr("audio0").opt(),
		pBool("autostart").opt(),
		pInt("balloon").opt().min(0),
		pStr("bios").opt().enum("seabios", "ovmf"),
		pStr("boot").opt(),
		pStr("bootdisk").opt().re(`^(?:(ide|sata|scsi|virtio)\d+)$`),
		pStr("cdrom").opt(),
		pStr("cicustom").opt(),
		pStr("cipassword").opt(),
		pStr("citype").opt().enum("configdrive2", "nocloud", "opennebula"),
		pBool("ciupgrade").opt(),
		pStr("ciuser").opt(),
		pInt("cores").opt().min(1),
		pStr("cpu").opt(),
		pNum("cpulimit").opt().min(0).max(128),
		pInt("cpuunits").opt().min(1).max(262144),
		pStr("description").opt().maxLength(8192),
		pStr("efidisk0").opt(),
		pBool("force").opt(),
		pBool("freeze").opt(),
		pStr("hookscript").opt(),
		pStr("hostpci[n]").opt(),
		pStr("hotplug").opt(),
		pStr("hugepages").opt().enum("any", "2", "1024"),
		pStr("ide[n]").opt(),
		pStr("intel-tdx").opt(),
		pStr("ipconfig[n]").opt(),
		pStr("ivshmem").opt(),
		pBool("keephugepages").opt(),
		pStr("keyboard").opt().enum("de", "de-ch", "da", "en-gb", "en-us", "es", "fi", "fr", "fr-be", "fr-ca", "fr-ch", "hu", "is", "it", "ja", "lt", "mk", "nl", "no", "pl", "pt", "pt-br", "sv", "sl", "tr"),
		pBool("kvm").opt(),
		pBool("localtime").opt(),
		pStr("lock").opt().enum("backup", "clone", "create", "migrate", "rollback", "snapshot", "snapshot-delete", "suspending", "suspended"),
		pStr("machine").opt(),
		pStr("memory").opt(),
		pNum("migrate_downtime").opt().min(0),
		pInt("migrate_speed").opt().min(0),
		pStr("name").opt(),
		pStr("nameserver").opt(),
		pStr("net[n]").opt(),
		pNode(),
		pBool("numa").opt(),
		pStr("numa[n]").opt(),
		pBool("onboot").opt(),
		pStr("ostype").opt().enum("other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24", "l26", "solaris"),
		pStr("parallel[n]").opt().re(`^(?:/dev/parport\d+|/dev/usb/lp\d+)$`),
		pBool("protection").opt(),
		pBool("reboot").opt(),
		pStr("rng0").opt(),
		pStr("sata[n]").opt(),
		pStr("scsi[n]").opt(),
		pStr("scsihw").opt().enum("lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas", "pvscsi"),
		pStr("searchdomain").opt(),
		pStr("serial[n]").opt().re(`^(?:(/dev/.+|socket))$`),
		pInt("shares").opt().min(0).max(50000),
		pStr("smbios1").opt().maxLength(512),
		pInt("smp").opt().min(1),
		pInt("sockets").opt().min(1),
		pStr("spice_enhancements").opt(),
		pStr("sshkeys").opt(),
		pStr("startdate").opt().re(`^(?:(now|\d{4}-\d{1,2}-\d{1,2}(T\d{1,2}:\d{1,2}:\d{1,2})?))$`),
		pStr("startup").opt(),
		pBool("tablet").opt(),
		pStr("tags").opt(),
		pBool("tdf").opt(),
		pBool("template").opt(),
		pStr("tpmstate0").opt(),
		pStr("unused[n]").opt(),
		pStr("usb[n]").opt(),
		pInt("vcpus").opt().min(1),
		pStr("vga").opt(),
		pStr("virtio[n]").opt(),
		pStr("virtiofs[n]").opt(),
		pStr("vmgenid").opt().re(`^(?:(?:[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}|[01]))$`),
		pVMID(),
		pStr("vmstatestorage").opt().fmt("pve-storage-id"),
		pStr("watchdog").opt(),
	}
}

// qemuCreateParams: the parameters of POST /nodes/{node}/qemu in the official API schema: the VM options and
// what only creating takes (a backup to restore, where to put and how to start the new VM).
func qemuCreateParams() []param {
	return append(qemuOptions(),
		pStr("archive").opt().maxLength(255),
		pInt("bwlimit").opt().min(0),
		pBool("ha-managed").opt(),
		pStr("import-working-storage").opt().fmt("pve-storage-id"),
		pBool("live-restore").opt(),
		pStr("pool").opt(),
		pBool("start").opt(),
		pStr("storage").opt().fmt("pve-storage-id"),
		pBool("unique").opt(),
	)
}

// qemuConfigPostParams: the parameters of POST /nodes/{node}/qemu/{vmid}/config in the official API schema:
// the VM options and what changing a configuration takes.
func qemuConfigPostParams() []param {
	return append(qemuOptions(),
		pInt("background_delay").opt().min(1).max(30),
		pStr("delete").opt(),
		pStr("digest").opt().maxLength(40),
		pStr("import-working-storage").opt().fmt("pve-storage-id"),
		pStr("revert").opt(),
		pBool("skiplock").opt(),
	)
}

// qemuConfigPutParams: the parameters of PUT /nodes/{node}/qemu/{vmid}/config in the official API schema, the
// synchronous form of the POST: the same parameters without the two only an asynchronous task honours
// (background_delay, and import-working-storage for disks imported while the task runs).
func qemuConfigPutParams() []param {
	return slices.DeleteFunc(qemuConfigPostParams(), func(p param) bool {
		return p.name == "background_delay" || p.name == "import-working-storage"
	})
}

// lxcOptions: the container options that creating a container (POST /nodes/{node}/lxc) and changing its
// configuration (PUT /nodes/{node}/lxc/{vmid}/config) both take, with node and vmid, as the official API
// schema declares them.
func lxcOptions() []param {
	return []param{
		pStr("arch").opt().enum("amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"),
		pStr("cmode").opt().enum("shell", "console", "tty"),
		pBool("console").opt(),
		pInt("cores").opt().min(1).max(8192),
		pNum("cpulimit").opt().min(0).max(8192),
		pInt("cpuunits").opt().min(0).max(500000),
		pBool("debug").opt(),
		pStr("description").opt().maxLength(8192),
		pStr("dev[n]").opt(),
		pStr("entrypoint").opt().re(`^(?:(?^:[^\x00-\x08\x10-\x1F\x7F]+))$`),
		pStr("env").opt().re(`^(?:(?^:(?:\w+=[^\x00-\x08\x10-\x1F\x7F]*)(?:\0\w+=[^\x00-\x08\x10-\x1F\x7F]*)*))$`),
		pStr("features").opt(),
		pStr("hookscript").opt(),
		pStr("hostname").opt().maxLength(255),
		pStr("lock").opt().enum("backup", "create", "destroyed", "disk", "fstrim", "migrate", "mounted", "rollback", "snapshot", "snapshot-delete"),
		pInt("memory").opt().min(16),
		pStr("mp[n]").opt(),
		pStr("nameserver").opt(),
		pStr("net[n]").opt(),
		pNode(),
		pBool("onboot").opt(),
		pStr("ostype").opt().enum("debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo", "nixos", "unmanaged"),
		pBool("protection").opt(),
		pStr("rootfs").opt(),
		pStr("searchdomain").opt(),
		pStr("startup").opt(),
		pInt("swap").opt().min(0),
		pStr("tags").opt(),
		pBool("template").opt(),
		pStr("timezone").opt(),
		pInt("tty").opt().min(0).max(6),
		pBool("unprivileged").opt(),
		pStr("unused[n]").opt(),
		pVMID(),
	}
}

// lxcCreateParams: the parameters of POST /nodes/{node}/lxc in the official API schema: the container options
// and what only creating takes (the template or backup, where to put and how to start the new container).
func lxcCreateParams() []param {
	return append(lxcOptions(),
		pNum("bwlimit").opt().min(0),
		pBool("force").opt(),
		pBool("ha-managed").opt(),
		pBool("ignore-unpack-errors").opt(),
		pStr("ostemplate").maxLength(255),
		pStr("password").opt(),
		pStr("pool").opt(),
		pBool("restore").opt(),
		pStr("ssh-public-keys").opt(),
		pBool("start").opt(),
		pStr("storage").opt().fmt("pve-storage-id"),
		pBool("unique").opt(),
	)
}

// lxcConfigPutParams: the parameters of PUT /nodes/{node}/lxc/{vmid}/config in the official API schema: the
// container options and what changing a configuration takes.
func lxcConfigPutParams() []param {
	return append(lxcOptions(),
		pStr("delete").opt(),
		pStr("digest").opt().maxLength(40),
		pStr("revert").opt(),
	)
}

// qemuCloneParams: the parameters of POST /nodes/{node}/qemu/{vmid}/clone in the official API schema.
func qemuCloneParams() []param {
	return []param{
		pInt("bwlimit").opt().min(0),
		pStr("description").opt(),
		pStr("format").opt().enum("raw", "qcow2", "vmdk"),
		pBool("full").opt(),
		pStr("name").opt(),
		pInt("newid").min(100).max(999999999).fmt("pve-vmid"),
		pNode(),
		pStr("pool").opt(),
		pStr("snapname").opt().maxLength(40),
		pStr("storage").opt().fmt("pve-storage-id"),
		pStr("target").opt().fmt("pve-node"),
		pVMID(),
	}
}

// qemuResizeParams: the parameters of PUT /nodes/{node}/qemu/{vmid}/resize in the official API schema.
func qemuResizeParams() []param {
	return []param{
		pStr("digest").opt().maxLength(40),
		pStr("disk").enum(qemuDiskNames()...),
		pNode(),
		pStr("size").re(`^(?:\+?\d+(\.\d+)?[KMGT]?)$`),
		pBool("skiplock").opt(),
		pVMID(),
	}
}

// lxcResizeParams: the parameters of PUT /nodes/{node}/lxc/{vmid}/resize in the official API schema.
func lxcResizeParams() []param {
	return []param{
		pStr("digest").opt().maxLength(40),
		pStr("disk").enum(lxcDiskNames()...),
		pNode(),
		pStr("size").re(`^(?:\+?\d+(\.\d+)?[KMGT]?)$`),
		pVMID(),
	}
}

// qemuDestroyParams: the parameters of DELETE /nodes/{node}/qemu/{vmid} in the official API schema.
func qemuDestroyParams() []param {
	return []param{
		pBool("destroy-unreferenced-disks").opt(),
		pNode(),
		pBool("purge").opt(),
		pBool("skiplock").opt(),
		pVMID(),
	}
}

// lxcDestroyParams: the parameters of DELETE /nodes/{node}/lxc/{vmid} in the official API schema.
func lxcDestroyParams() []param {
	return []param{
		pBool("destroy-unreferenced-disks").opt(),
		pBool("force").opt(),
		pNode(),
		pBool("purge").opt(),
		pVMID(),
	}
}

// qemuMigrateGetParams: the parameters of GET /nodes/{node}/qemu/{vmid}/migrate in the official API schema.
func qemuMigrateGetParams() []param {
	return []param{
		pNode(),
		pStr("target").opt().fmt("pve-node"),
		pVMID(),
	}
}

// qemuMigrateParams: the parameters of POST /nodes/{node}/qemu/{vmid}/migrate in the official API schema.
func qemuMigrateParams() []param {
	return []param{
		pInt("bwlimit").opt().min(0),
		pBool("force").opt(),
		pStr("migration_network").opt(),
		pStr("migration_type").opt().enum("secure", "insecure"),
		pNode(),
		pBool("online").opt(),
		pStr("target").fmt("pve-node"),
		pStr("targetstorage").opt(),
		pVMID(),
		pBool("with-conntrack-state").opt(),
		pBool("with-local-disks").opt(),
	}
}

// lxcMigrateGetParams: the parameters of GET /nodes/{node}/lxc/{vmid}/migrate in the official API schema.
func lxcMigrateGetParams() []param {
	return []param{
		pNode(),
		pStr("target").opt().fmt("pve-node"),
		pVMID(),
	}
}

// lxcMigrateParams: the parameters of POST /nodes/{node}/lxc/{vmid}/migrate in the official API schema.
func lxcMigrateParams() []param {
	return []param{
		pNum("bwlimit").opt().min(0),
		pNode(),
		pBool("online").opt(),
		pBool("restart").opt(),
		pStr("target").fmt("pve-node"),
		pStr("target-storage").opt(),
		pInt("timeout").opt(),
		pVMID(),
	}
}

// qemuStartParams: the parameters of POST /nodes/{node}/qemu/{vmid}/status/start in the official API schema.
func qemuStartParams() []param {
	return []param{
		pStr("force-cpu").opt(),
		pStr("machine").opt(),
		pStr("migratedfrom").opt().fmt("pve-node"),
		pStr("migration_network").opt(),
		pStr("migration_type").opt().enum("secure", "insecure"),
		pStr("nets-host-mtu").opt().re(`^(?:net\d+=\d+(,net\d+=\d+)*)$`),
		pNode(),
		pBool("skiplock").opt(),
		pStr("stateuri").opt().maxLength(128),
		pStr("targetstorage").opt(),
		pInt("timeout").opt().min(0),
		pVMID(),
		pBool("with-conntrack-state").opt(),
	}
}

// lxcStartParams: the parameters of POST /nodes/{node}/lxc/{vmid}/status/start in the official API schema.
func lxcStartParams() []param {
	return []param{
		pBool("debug").opt(),
		pNode(),
		pBool("skiplock").opt(),
		pVMID(),
	}
}

// qemuStopParams: the parameters of POST /nodes/{node}/qemu/{vmid}/status/stop in the official API schema.
func qemuStopParams() []param {
	return []param{
		pBool("keepActive").opt(),
		pStr("migratedfrom").opt().fmt("pve-node"),
		pNode(),
		pBool("overrule-shutdown").opt(),
		pBool("skiplock").opt(),
		pInt("timeout").opt().min(0),
		pVMID(),
	}
}

// lxcStopParams: the parameters of POST /nodes/{node}/lxc/{vmid}/status/stop in the official API schema.
func lxcStopParams() []param {
	return []param{
		pNode(),
		pBool("overrule-shutdown").opt(),
		pBool("skiplock").opt(),
		pVMID(),
	}
}

// qemuShutdownParams: the parameters of POST /nodes/{node}/qemu/{vmid}/status/shutdown in the official API schema.
func qemuShutdownParams() []param {
	return []param{
		pBool("forceStop").opt(),
		pBool("keepActive").opt(),
		pNode(),
		pBool("skiplock").opt(),
		pInt("timeout").opt().min(0),
		pVMID(),
	}
}

// lxcShutdownParams: the parameters of POST /nodes/{node}/lxc/{vmid}/status/shutdown in the official API schema.
func lxcShutdownParams() []param {
	return []param{
		pBool("forceStop").opt(),
		pNode(),
		pInt("timeout").opt().min(0),
		pVMID(),
	}
}

// qemuRebootParams: the parameters of POST /nodes/{node}/qemu/{vmid}/status/reboot in the official API schema.
func qemuRebootParams() []param {
	return []param{
		pNode(),
		pInt("timeout").opt().min(0),
		pVMID(),
	}
}

// lxcRebootParams: the parameters of POST /nodes/{node}/lxc/{vmid}/status/reboot in the official API schema.
func lxcRebootParams() []param {
	return []param{
		pNode(),
		pInt("timeout").opt().min(0),
		pVMID(),
	}
}

// qemuSuspendParams: the parameters of POST /nodes/{node}/qemu/{vmid}/status/suspend in the official API schema.
func qemuSuspendParams() []param {
	return []param{
		pNode(),
		pBool("skiplock").opt(),
		pStr("statestorage").opt().fmt("pve-storage-id"),
		pBool("todisk").opt(),
		pVMID(),
	}
}

// lxcSuspendParams: the parameters of POST /nodes/{node}/lxc/{vmid}/status/suspend in the official API schema.
func lxcSuspendParams() []param {
	return []param{
		pNode(),
		pVMID(),
	}
}

// qemuResumeParams: the parameters of POST /nodes/{node}/qemu/{vmid}/status/resume in the official API schema.
func qemuResumeParams() []param {
	return []param{
		pBool("nocheck").opt(),
		pNode(),
		pBool("skiplock").opt(),
		pVMID(),
	}
}

// lxcResumeParams: the parameters of POST /nodes/{node}/lxc/{vmid}/status/resume in the official API schema.
func lxcResumeParams() []param {
	return []param{
		pNode(),
		pVMID(),
	}
}

// qemuDiskNames is the drive-name enumeration of the schema (ide, scsi, virtio, sata, efidisk0, tpmstate0).
func qemuDiskNames() []string {
	var out []string
	for _, b := range []struct {
		name string
		n    int
	}{{"ide", 4}, {"scsi", 31}, {"virtio", 16}, {"sata", 6}} {
		for i := 0; i < b.n; i++ {
			out = append(out, fmt.Sprintf("%s%d", b.name, i))
		}
	}
	return append(out, "efidisk0", "tpmstate0")
}

// lxcDiskNames is rootfs and mp0..mp255.
func lxcDiskNames() []string {
	out := []string{"rootfs"}
	for i := 0; i < 256; i++ {
		out = append(out, fmt.Sprintf("mp%d", i))
	}
	return out
}
