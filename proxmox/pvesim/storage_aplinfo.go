package pvesim

import "strings"

func init() { routeSetups = append(routeSetups, (*Sim).registerAplinfo) }

// GET /nodes/{node}/aplinfo: the appliance index pveam downloaded (the
// container templates that can be fetched onto a storage).
func (s *Sim) registerAplinfo() {
	s.route("GET", "/nodes/{node}/aplinfo", permNone(), []param{pNode()}, s.getAplinfo)
}

// aplTemplates are entries of the official index (system and TurnKey).
var aplTemplates = []struct{ section, os, pkg, version, file, headline string }{
	{"system", "alpine", "alpine-3.22-default", "3.22-1", "alpine-3.22-default_20250617_amd64.tar.xz", "Alpine Linux 3.22"},
	{"system", "almalinux", "almalinux-9-default", "20240911", "almalinux-9-default_20240911_amd64.tar.xz", "AlmaLinux 9"},
	{"system", "debian-12", "debian-12-standard", "12.7-1", "debian-12-standard_12.7-1_amd64.tar.zst", "Debian 12 Bookworm (standard)"},
	{"system", "debian-13", "debian-13-standard", "13.1-2", "debian-13-standard_13.1-2_amd64.tar.zst", "Debian 13 Trixie (standard)"},
	{"system", "rockylinux", "rockylinux-9-default", "20240912", "rockylinux-9-default_20240912_amd64.tar.xz", "Rocky Linux 9"},
	{"system", "ubuntu-22.04", "ubuntu-22.04-standard", "22.04-1", "ubuntu-22.04-standard_22.04-1_amd64.tar.zst", "Ubuntu 22.04 Jammy (standard)"},
	{"system", "ubuntu-24.04", "ubuntu-24.04-standard", "24.04-2", "ubuntu-24.04-standard_24.04-2_amd64.tar.zst", "Ubuntu 24.04 Noble (standard)"},
	{"turnkeylinux", "debian-12", "turnkey-gitea", "18.0-1", "debian-12-turnkey-gitea_18.0-1_amd64.tar.gz", "TurnKey Gitea"},
	{"turnkeylinux", "debian-12", "turnkey-nextcloud", "18.1-1", "debian-12-turnkey-nextcloud_18.1-1_amd64.tar.gz", "TurnKey Nextcloud"},
	{"turnkeylinux", "debian-12", "turnkey-wordpress", "18.1-1", "debian-12-turnkey-wordpress_18.1-1_amd64.tar.gz", "TurnKey WordPress"},
}

func (s *Sim) getAplinfo(c *reqCtx) (any, error) {
	out := []map[string]any{}
	for _, t := range aplTemplates {
		base := "http://download.proxmox.com/images/system/"
		maint := "Proxmox Support Team <support@proxmox.com>"
		info := "https://pve.proxmox.com/wiki/Linux_Container"
		if t.section == "turnkeylinux" {
			base = "https://releases.turnkeylinux.org/pve/"
			maint = "Anton Pyrogovskyi <anton@turnkeylinux.org>"
			info = "https://www.turnkeylinux.org/" + strings.TrimPrefix(t.pkg, "turnkey-")
		}
		out = append(out, map[string]any{"template": t.file, "package": t.pkg, "version": t.version, "type": "lxc", "os": t.os,
			"section": t.section, "headline": t.headline, "description": t.headline + " LXC template.", "source": base + t.file,
			"location": base + t.file, "maintainer": maint, "infopage": info, "architecture": "amd64",
			"sha512sum": sha1hex("sha512a:"+t.file) + sha1hex("sha512b:"+t.file) + sha1hex("sha512c:"+t.file) + sha1hex("sha512d:" + t.file)[:8]})
	}
	return out, nil
}

// named renames a parameter (e.g. a vmid called "guest").
func (p param) named(n string) param { p.name = n; return p }
