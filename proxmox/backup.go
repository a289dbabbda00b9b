package proxmox

import (
	"context"
	"strconv"
	"strings"
)

// BackupJob is one entry of GET /cluster/backup (a vzdump job). Property
// strings Proxmox returns as objects (prune-backups, performance, fleecing)
// are not decoded: go-proxmox types prune-backups as a string and breaks on
// real answers.
type BackupJob struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Schedule string `json:"schedule"`
	Enabled  *Bool  `json:"enabled"` // absent means enabled
	Storage  string `json:"storage"`
	Mode     string `json:"mode"`
	VMID     string `json:"vmid"` // "100,101"
	All      Bool   `json:"all"`
	Exclude  string `json:"exclude"`
	Pool     string `json:"pool"`
	Node     string `json:"node"`
	NextRun  Int    `json:"next-run"`
	Comment  string `json:"comment"`
}

// IsEnabled applies Proxmox's default (enabled unless enabled=0).
func (j BackupJob) IsEnabled() bool { return j.Enabled == nil || bool(*j.Enabled) }

// VMIDs parses "vmid" (and works for "exclude" via ParseVMIDList).
func (j BackupJob) VMIDs() []int { return ParseVMIDList(j.VMID) }

// ParseVMIDList reads "100,101 102" into VMIDs, skipping junk.
func ParseVMIDList(s string) []int {
	var out []int
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		if v, err := strconv.Atoi(p); err == nil && ValidVMID(v) {
			out = append(out, v)
		}
	}
	return out
}

// BackupJobs reads the scheduled vzdump jobs (needs Sys.Audit on /).
func (c *Client) BackupJobs(ctx context.Context) ([]BackupJob, error) {
	var out []BackupJob
	if err := c.get(ctx, "/cluster/backup", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// NotBackedUpGuest is one entry of GET /cluster/backup-info/not-backed-up.
type NotBackedUpGuest struct {
	VMID Int    `json:"vmid"`
	Name string `json:"name"`
	Type string `json:"type"` // qemu, lxc
}

// NotBackedUp lists guests covered by no enabled backup job.
func (c *Client) NotBackedUp(ctx context.Context) ([]NotBackedUpGuest, error) {
	var out []NotBackedUpGuest
	if err := c.get(ctx, "/cluster/backup-info/not-backed-up", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}
