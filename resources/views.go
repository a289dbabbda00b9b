package resources

import (
	"embed"
	"fmt"
	"strings"
	"sync"
)

// MCP Apps (extension io.modelcontextprotocol/ui, spec 2026-01-26): a tool
// result can be shown by an HTML view the host renders next to the answer,
// in a sandboxed iframe, from the tool's own structured result. The views
// live in views/ and are embedded in the binary; mcpserver/apps.go offers them
// only to clients that advertise the extension.
const (
	// AppsExtension is the extension's identifier in the capabilities.
	AppsExtension = "io.modelcontextprotocol/ui"
	// ViewMIMEType is the MIME type of every view.
	ViewMIMEType = "text/html;profile=mcp-app"
	// ViewBudget is the most bytes a view may take: views travel to the
	// host at every render, so they stay small (checked by a test).
	ViewBudget = 60 << 10
)

// View is one MCP Apps view: a self-contained HTML document (inline CSS and
// script, no network access) that draws the result of its tools.
type View struct {
	URI         string
	Name        string
	Title       string
	Description string
	// Tools are the tools whose results the view draws (their tools/list
	// entry names the view in _meta.ui.resourceUri).
	Tools []string
	// HTML is the document.
	HTML string
}

//go:embed views/*.html views/*.css views/*.js
var viewFiles embed.FS

// viewDefs are the views; file is the document under views/.
var viewDefs = []struct {
	file, name, title, desc string
	tools                   []string
}{
	{"overview.html", "overview", "Cluster overview", "Per-node CPU, RAM and storage bars with the thresholds, quorum, guest counts and alerts.", []string{"cluster_overview"}},
	{"metrics.html", "metrics", "Metrics history", "CPU, RAM, load and network history charts of a node, guest or storage with min/avg/max/p95; the time range can be changed.", []string{"get_metrics"}},
	{"storage.html", "storage", "Storage fill and forecast", "Storage fill per node with the threshold and the forecast date the threshold is reached.", []string{"storage_status"}},
	{"backups.html", "backups", "Backup calendar", "Backup jobs, a calendar of the window's runs with failures, failed guests with their error lines, guests without a job.", []string{"backup_status"}},
	{"capacity.html", "capacity", "Capacity plan", "Per-node RAM and vCPU commitment, over- and under-provisioned guests, the proposed moves and why none were proposed.", []string{"capacity_report"}},
	{"zfs.html", "zfs", "ZFS pool health", "ZFS pools with state, fill, scrub, vdev tree, member disks and host-side guidance.", []string{"zfs_health"}},
}

// Views returns the views with their documents assembled: the shared style
// and runtime (views/app.css, views/app.js) are inlined where a view's
// document names them, so each document stands alone.
var Views = sync.OnceValue(func() []View {
	css := mustRead("app.css")
	js := mustRead("app.js")
	out := make([]View, 0, len(viewDefs))
	for _, d := range viewDefs {
		html := mustRead(d.file)
		html = strings.Replace(html, "/*pvemcp:app.css*/", css, 1)
		html = strings.Replace(html, "/*pvemcp:app.js*/", js, 1)
		out = append(out, View{
			URI: "ui://pvemcp/" + d.name, Name: "view_" + d.name, Title: d.title,
			Description: d.desc + " An MCP Apps view; it draws the tool's own result and reaches the server only through the host.",
			Tools:       d.tools, HTML: html,
		})
	}
	return out
})

// Document returns the view's document with the server's settings the view
// needs (the alert thresholds) written in as JSON; nil keeps the defaults.
func (v View) Document(config []byte) string {
	if config == nil {
		return v.HTML
	}
	return strings.Replace(v.HTML, "/*pvemcp:config*/null", string(config), 1)
}

func mustRead(name string) string {
	b, err := viewFiles.ReadFile("views/" + name)
	if err != nil {
		panic(fmt.Sprintf("view %s: %v", name, err))
	}
	return string(b)
}
