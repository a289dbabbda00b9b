package toolkit

import (
	"fmt"
	"slices"
	"strings"
)

// Markdown renders the tool list for the README (between the tools markers),
// grouped by toolset. `pvemcp tools --markdown` prints it; a test keeps the
// README in sync.
func Markdown(ts []*Tool) string {
	var b strings.Builder
	for _, ts0 := range toolsetCatalog {
		var in []*Tool
		for _, t := range ts {
			if t.Toolset == ts0.Name {
				in = append(in, t)
			}
		}
		if len(in) == 0 {
			continue
		}
		when := "on request (`enable_toolset`, `--toolsets`)"
		switch {
		case ts0.Name == ToolsetDiscovery:
			when = "always served"
		case slices.Contains(DefaultToolsets, ts0.Name):
			when = "on by default"
		}
		fmt.Fprintf(&b, "**%s** — %s; %s.\n\n| tool | kind | what it answers |\n|---|---|---|\n", ts0.Name, ts0.Description, when)
		for _, t := range in {
			kind := "read"
			if t.Write() {
				kind = "write"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", t.Name, kind, firstSentence(t.Description))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func firstSentence(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	return strings.ReplaceAll(s, "|", "\\|")
}
