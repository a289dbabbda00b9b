package tools

import (
	"fmt"
	"strings"
)

// Markdown renders the tool list for the README (between the tools markers),
// grouped by toolset. `pvemcp tools --markdown` prints it; a test keeps the
// README in sync.
func Markdown(ts []*Tool) string {
	var b strings.Builder
	b.WriteString("| tool | toolset | kind | what it answers |\n|---|---|---|---|\n")
	for _, t := range ts {
		kind := "read"
		if t.Write() {
			kind = "write"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", t.Name, t.Toolset, kind, firstSentence(t.Description))
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
