package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Text rendering of a tool result for a person (pvemcp call --format text):
// key: value lines, lists of objects as aligned tables, long lists and wide
// tables cut short with a note saying so. The JSON stays the contract; this
// is only a view of it.

// textLimits bound the view.
type textLimits struct {
	rows  int // rows per table
	cols  int // columns per table
	width int // characters per cell
}

var defaultTextLimits = textLimits{rows: 10, cols: 9, width: 60}

// object keeps a JSON object's keys in their order.
type object struct {
	keys []string
	vals map[string]any
}

func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				o.keys = append(o.keys, k)
				o.vals[k] = v
			}
			_, err := dec.Token() // '}'
			return o, err
		case '[':
			l := []any{}
			for dec.More() {
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := dec.Token() // ']'
			return l, err
		}
	}
	return tok, nil
}

// renderText writes the result as text.
func renderText(w io.Writer, structured []byte, lim textLimits) error {
	dec := json.NewDecoder(bytes.NewReader(structured))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		return err
	}
	o, ok := v.(*object)
	if !ok {
		_, err := fmt.Fprintln(w, scalarText(v, lim.width))
		return err
	}
	var b strings.Builder
	writeObject(&b, o, "", lim, true)
	_, err = io.WriteString(w, b.String())
	return err
}

func writeObject(b *strings.Builder, o *object, indent string, lim textLimits, top bool) {
	// A compact table ("columns" plus rows of values) becomes a table.
	var columns []string
	if l, ok := o.vals["columns"].([]any); ok {
		for _, c := range l {
			if s, ok := c.(string); ok {
				columns = append(columns, s)
			}
		}
	}
	for _, k := range o.keys {
		v := o.vals[k]
		if columns != nil && k == "columns" {
			continue
		}
		if l, ok := v.([]any); ok && columns != nil && rowsOf(l, len(columns)) {
			writeList(b, k, asObjects(columns, l), indent, lim)
			continue
		}
		if top && k == "sources" {
			if l, ok := v.([]any); ok {
				fmt.Fprintf(b, "%ssources: %d Proxmox API call(s)\n", indent, len(l))
			}
			continue
		}
		switch x := v.(type) {
		case *object:
			if flat, ok := flatObject(x, lim.width); ok {
				fmt.Fprintf(b, "%s%s: %s\n", indent, k, flat)
				continue
			}
			fmt.Fprintf(b, "%s%s:\n", indent, k)
			writeObject(b, x, indent+"  ", lim, false)
		case []any:
			writeList(b, k, x, indent, lim)
		default:
			fmt.Fprintf(b, "%s%s: %s\n", indent, k, scalarText(v, 1000))
		}
	}
}

// flatObject renders a small object of scalars on one line.
func flatObject(o *object, width int) (string, bool) {
	var parts []string
	for _, k := range o.keys {
		switch o.vals[k].(type) {
		case *object, []any:
			return "", false
		}
		parts = append(parts, k+"="+scalarText(o.vals[k], width))
	}
	s := strings.Join(parts, ", ")
	return s, utf8.RuneCountInString(s) <= 2*width
}

func writeList(b *strings.Builder, key string, l []any, indent string, lim textLimits) {
	if len(l) == 0 {
		fmt.Fprintf(b, "%s%s: none\n", indent, key)
		return
	}
	objects, messages := 0, 0
	for _, e := range l {
		if o, ok := e.(*object); ok {
			objects++
			if _, ok := o.vals["message"]; ok {
				messages++
			}
		}
	}
	if objects == len(l) && messages == len(l) {
		// Alerts and errors: one line each, the message in full.
		fmt.Fprintf(b, "%s%s (%d):\n", indent, key, len(l))
		for i, e := range l {
			if i == lim.rows*2 {
				fmt.Fprintf(b, "%s  ... %d of %d shown\n", indent, i, len(l))
				break
			}
			o := e.(*object)
			var tags []string
			for _, k := range []string{"severity", "kind"} {
				if s, ok := o.vals[k].(string); ok && s != "" {
					tags = append(tags, s)
				}
			}
			about := ""
			for _, k := range []string{"subject", "node"} {
				if s, ok := o.vals[k].(string); ok && s != "" {
					about = s + ": "
					break
				}
			}
			fmt.Fprintf(b, "%s  [%s] %s%s\n", indent, strings.Join(tags, " "), about, scalarText(o.vals["message"], 1000))
		}
		return
	}
	if objects == len(l) && isWhatWhy(l) {
		fmt.Fprintf(b, "%s%s (%d):\n", indent, key, len(l))
		for _, e := range l {
			o := e.(*object)
			fmt.Fprintf(b, "%s  %s: %s\n", indent, scalarText(o.vals["what"], 200), scalarText(o.vals["why"], 400))
		}
		return
	}
	if objects < len(l) {
		var parts []string
		long := false
		for _, e := range l {
			t := scalarText(e, 1000)
			long = long || utf8.RuneCountInString(t) > 40
			parts = append(parts, t)
		}
		if !long {
			fmt.Fprintf(b, "%s%s: %s\n", indent, key, strings.Join(parts, ", "))
			return
		}
		// Sentences: one per line, in full.
		fmt.Fprintf(b, "%s%s:\n", indent, key)
		for _, p := range parts {
			fmt.Fprintf(b, "%s  - %s\n", indent, p)
		}
		return
	}
	// A table: the columns are the keys with a value to show, in first-seen order.
	var cols []string
	seen := map[string]bool{}
	for _, e := range l {
		for _, k := range e.(*object).keys {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	hidden := 0
	if len(cols) > lim.cols {
		hidden = len(cols) - lim.cols
		cols = cols[:lim.cols]
	}
	shown := l
	if len(shown) > lim.rows {
		shown = shown[:lim.rows]
	}
	rows := [][]string{cols}
	for _, e := range shown {
		o := e.(*object)
		row := make([]string, len(cols))
		for i, c := range cols {
			v, ok := o.vals[c]
			if !ok {
				row[i] = "-"
				continue
			}
			row[i] = cellText(v, lim.width)
		}
		rows = append(rows, row)
	}
	widths := make([]int, len(cols))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	head := fmt.Sprintf("%s%s (%d", indent, key, len(l))
	if len(shown) < len(l) {
		head = fmt.Sprintf("%s%s (%d of %d shown", indent, key, len(shown), len(l))
	}
	if hidden > 0 {
		head += fmt.Sprintf("; %d more field(s) per row in the JSON", hidden)
	}
	b.WriteString(head + "):\n")
	for _, r := range rows {
		b.WriteString(indent + "  ")
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
		}
		b.WriteString("\n")
	}
}

// cellText is a table cell: scalars as they are, lists of scalars joined,
// nested structures summarised.
func cellText(v any, width int) string {
	switch x := v.(type) {
	case *object:
		if s, ok := flatObject(x, width); ok {
			return clipText(s, width)
		}
		return fmt.Sprintf("{%d fields}", len(x.keys))
	case []any:
		var parts []string
		for _, e := range x {
			switch e.(type) {
			case *object, []any:
				return fmt.Sprintf("[%d]", len(x))
			}
			parts = append(parts, scalarText(e, width))
		}
		return clipText(strings.Join(parts, ","), width)
	}
	return scalarText(v, width)
}

func scalarText(v any, width int) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return clipText(x, width)
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "yes"
		}
		return "no"
	}
	return clipText(fmt.Sprint(v), width)
}

func clipText(s string, width int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

func isWhatWhy(l []any) bool {
	for _, e := range l {
		o := e.(*object)
		if _, ok := o.vals["what"]; !ok || len(o.keys) != 2 {
			return false
		}
	}
	return true
}

// rowsOf reports whether l is a list of rows of n values.
func rowsOf(l []any, n int) bool {
	for _, e := range l {
		r, ok := e.([]any)
		if !ok || len(r) != n {
			return false
		}
	}
	return len(l) > 0
}

func asObjects(columns []string, rows []any) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		o := &object{keys: columns, vals: map[string]any{}}
		for j, v := range r.([]any) {
			o.vals[columns[j]] = v
		}
		out[i] = o
	}
	return out
}
