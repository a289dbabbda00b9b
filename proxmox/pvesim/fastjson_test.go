package pvesim

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestFastJSONRoundTrip(t *testing.T) {
	in := []any{
		obj{{"s", "quote\" back\\ nl\n tab\t ctl\x01 del\x7f äöü 日本 <&>"}, {"i", 42}, {"i64", int64(-7)}, {"f", 0.125}, {"n", nil},
			{"nested", obj{{"a", []any{1, "x"}}}}, {"m", map[string]any{"k": 1}}, {"l", []string{"a"}}},
		obj{{"bad", "\xff\xfe"}},
	}
	b, err := marshalData(in)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	want := []map[string]any{
		{"s": "quote\" back\\ nl\n tab\t ctl\x01 del\x7f äöü 日本 <&>", "i": 42.0, "i64": -7.0, "f": 0.125, "n": nil,
			"nested": map[string]any{"a": []any{1.0, "x"}}, "m": map[string]any{"k": 1.0}, "l": []any{"a"}},
		{"bad": "\ufffd\ufffd"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}
