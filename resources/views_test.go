package resources

import (
	"regexp"
	"strings"
	"testing"
)

// Every view is one self-contained HTML document within the size budget:
// the shared style and runtime inlined, nothing that would load from
// elsewhere (hosts apply a policy without network by default), and no way
// for data to become markup.
func TestViewsSelfContained(t *testing.T) {
	external := regexp.MustCompile(`(?i)(\bsrc\s*=|\bhref\s*=|url\(|@import|\bfetch\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|\bimport\(|https?://)`)
	seen := map[string]bool{}
	for _, v := range Views() {
		if seen[v.URI] {
			t.Errorf("%s twice", v.URI)
		}
		seen[v.URI] = true
		if !strings.HasPrefix(v.URI, "ui://pvemcp/") {
			t.Errorf("%s: views live under ui://pvemcp/", v.URI)
		}
		if len(v.HTML) > ViewBudget {
			t.Errorf("%s: %d bytes, over the %d byte budget", v.URI, len(v.HTML), ViewBudget)
		}
		t.Logf("%s: %d bytes (%.1f KiB)", v.URI, len(v.HTML), float64(len(v.HTML))/1024)
		if !strings.HasPrefix(v.HTML, "<!DOCTYPE html>") || !strings.Contains(v.HTML, "</html>") {
			t.Errorf("%s: not a whole HTML document", v.URI)
		}
		if strings.Contains(v.HTML, "/*pvemcp:app.") || !strings.Contains(v.HTML, "/*pvemcp:config*/null") {
			t.Errorf("%s: shared style or runtime not inlined", v.URI)
		}
		if doc := v.Document([]byte(`{"thresholds":{"ram_pct":80}}`)); !strings.Contains(doc, `const CONFIG = {"thresholds":{"ram_pct":80}};`) {
			t.Errorf("%s: settings not written in", v.URI)
		}
		if !strings.Contains(v.HTML, "ui/initialize") || !strings.Contains(v.HTML, "light-dark(") {
			t.Errorf("%s: runtime or theme fallbacks missing", v.URI)
		}
		// The SVG namespace is a name, not a location.
		html := strings.ReplaceAll(v.HTML, `"http://www.w3.org/2000/svg"`, "")
		for _, m := range external.FindAllString(html, -1) {
			t.Errorf("%s: %q would reach beyond the document", v.URI, m)
		}
		// Names and notes come from the cluster and may be hostile: data
		// enters the page as text nodes only.
		for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setTimeout(\"", "srcdoc"} {
			if strings.Contains(v.HTML, sink) {
				t.Errorf("%s: uses %s", v.URI, sink)
			}
		}
		if len(v.Tools) == 0 || v.Title == "" || v.Description == "" {
			t.Errorf("%s: tools, title or description missing", v.URI)
		}
	}
}
