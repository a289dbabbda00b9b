package toolkit

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pvemcp/pvemcp/proxmox"
)

type argsFixture struct {
	VMID  int      `json:"vmid" pve:"vmid" required:"true"`
	Node  string   `json:"node,omitempty" pve:"node"`
	Kind  string   `json:"kind,omitempty" enum:"a,b"`
	Limit int      `json:"limit,omitempty" minimum:"1" maximum:"50" default:"10"`
	Ratio float64  `json:"ratio,omitempty" minimum:"0" maximum:"1"`
	Flag  bool     `json:"flag,omitempty"`
	Tags  []string `json:"tags,omitempty" maxItems:"3"`
	Opt   *int     `json:"opt,omitempty"`
}

func fixtureSchema(t testing.TB) *Schema {
	s, err := reflectSchema(reflect.TypeFor[argsFixture](), true)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDecodeArgs(t *testing.T) {
	s := fixtureSchema(t)
	v, err := decodeArgs(json.RawMessage(`{"vmid":100,"node":"pve-node01","kind":"b","ratio":0.5,"flag":true,"tags":["x"],"opt":3}`), reflect.TypeFor[argsFixture](), s)
	if err != nil {
		t.Fatal(err)
	}
	a := v.Interface().(argsFixture)
	if a.VMID != 100 || a.Node != "pve-node01" || a.Kind != "b" || a.Limit != 10 || a.Ratio != 0.5 || !a.Flag || len(a.Tags) != 1 || a.Opt == nil || *a.Opt != 3 {
		t.Errorf("decoded %+v", a)
	}
	for in, want := range map[string]string{
		`{"vmid":100,"tags":["a","b","c","d"]}`: `argument "tags": has 4 items, at most 3 allowed`,
		`{"vmid":100,"tags":[1]}`:               `argument "tags[0]": must be a string`,
		`{"vmid":100,"ratio":2}`:                `argument "ratio": must be between 0 and 1`,
		`{"vmid":100,"flag":"yes"}`:             `argument "flag": must be true or false`,
		`{"vmid":100,"kind":"c"}`:               `argument "kind": must be one of a, b`,
		`{"vmid":100,"opt":"3"}`:                `argument "opt": must be an integer`,
		`{"vmid":100,"node":"-x"}`:              `argument "node"`,
		`{"vmid":100,"zz":1,"aa":2}`:            `argument "aa": unknown argument`,
		`"x"`:                                   `arguments must be a JSON object`,
	} {
		_, err := decodeArgs(json.RawMessage(in), reflect.TypeFor[argsFixture](), s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", in, err, want)
		}
	}
}

func TestSchemaReflection(t *testing.T) {
	b, _ := json.Marshal(fixtureSchema(t))
	got := string(b)
	for _, want := range []string{`"additionalProperties":false`, `"required":["vmid"]`, `"minimum":100,"maximum":999999999`,
		`"pattern":"` + strings.ReplaceAll(proxmox.NodeNamePattern, `\`, `\\`) + `"`, `"enum":["a","b"]`, `"default":10`, `"maxItems":3`} {
		if !strings.Contains(got, want) {
			t.Errorf("schema lacks %s: %s", want, got)
		}
	}
	// JSON Schema could describe a type that contains itself only with
	// $ref; no result needs one, and the library refuses it by name.
	type node struct {
		Name     string `json:"name"`
		Children []node `json:"children,omitempty"`
	}
	type tree struct {
		Root node `json:"root"`
	}
	if _, err := reflectSchema(reflect.TypeFor[tree](), false); err == nil || !strings.Contains(err.Error(), "cycle detected for type toolkit.node") {
		t.Errorf("recursive type: got %v", err)
	}
}

// A result schema as pvemcp writes it: nothing is null (pointers and slices
// are absent when empty), sized integers have no implicit bounds, objects
// stay open, only the result's own non-optional fields are required, and
// keywords come in a fixed order (served schemas are a contract).
func TestResultSchemaConventions(t *testing.T) {
	type inner struct {
		N uint32 `json:"n"`
	}
	type result struct {
		Count  int8              `json:"count" description:"how many" minimum:"0"`
		Opt    *float64          `json:"opt"`
		Names  []string          `json:"names" description:"sorted"`
		At     time.Time         `json:"at"`
		Raw    json.RawMessage   `json:"raw,omitempty"`
		RawPtr *json.RawMessage  `json:"raw_ptr,omitempty"`
		Inner  *inner            `json:"inner,omitempty"`
		Items  []inner           `json:"items"`
		ByName map[string]*inner `json:"by_name,omitempty"`
		Kind   string            `json:"kind" enum:"a,b" default:"a"`
	}
	s, err := reflectSchema(reflect.TypeFor[result](), false)
	if err != nil {
		t.Fatal(err)
	}
	in := `{"type":"object","properties":{"n":{"type":"integer"}}}`
	want := `{"type":"object","properties":{` +
		`"count":{"type":"integer","description":"how many","minimum":0},` +
		`"opt":{"type":"number"},` +
		`"names":{"type":"array","description":"sorted","items":{"type":"string"}},` +
		`"at":{"type":"string","format":"date-time"},` +
		`"raw":{},"raw_ptr":{},` +
		`"inner":` + in + `,` +
		`"items":{"type":"array","items":` + in + `},` +
		`"by_name":{"type":"object","additionalProperties":` + in + `},` +
		`"kind":{"type":"string","enum":["a","b"],"default":"a"}},` +
		`"required":["count","names","at","items","kind"]}`
	if got := string(marshalSchema(s)); got != want {
		t.Errorf("result schema\n got %s\nwant %s", got, want)
	}
}

// A bad tag fails at start-up, naming the field.
func TestBadTags(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{struct {
			A string `json:"a" maxLength:"1.5"`
		}{}, `field A: bad maxLength tag "1.5"`},
		{struct {
			A int `json:"a" minimum:"x"`
		}{}, `field A: bad minimum tag "x"`},
		{struct {
			A int `json:"a" default:"many"`
		}{}, `field A: bad default "many"`},
		{struct {
			A bool `json:"a" default:"yes"`
		}{}, `field A: bad default "yes"`},
		{struct {
			A int `json:"a" pve:"node"`
		}{}, `field A: pve:"node" needs a string`},
		{struct {
			A string `json:"a" pve:"guest"`
		}{}, `field A: unknown pve tag "guest"`},
	} {
		_, err := reflectSchema(reflect.TypeOf(c.v), true)
		if err == nil || err.Error() != c.want {
			t.Errorf("%T: got %v, want %s", c.v, err, c.want)
		}
	}
}

var nodeRE = regexp.MustCompile(proxmox.NodeNamePattern)

// FuzzDecodeArgs: no input panics, and whatever is accepted satisfies every
// declared constraint (so nothing invalid can reach Proxmox).
func FuzzDecodeArgs(f *testing.F) {
	for _, seed := range []string{`{"vmid":100}`, `{"vmid":-1}`, `{"vmid":1e12,"node":"../../access"}`, `{"vmid":100,"node":"a-b","tags":["x"],"opt":null}`, `[]`, `null`, `{"vmid":100.0}`, `{"vmid":"100"}`} {
		f.Add(seed)
	}
	s := fixtureSchema(f)
	f.Fuzz(func(t *testing.T, in string) {
		v, err := decodeArgs(json.RawMessage(in), reflect.TypeFor[argsFixture](), s)
		if err != nil {
			if _, ok := err.(*ArgError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		a := v.Interface().(argsFixture)
		if !proxmox.ValidVMID(a.VMID) || (a.Node != "" && (!nodeRE.MatchString(a.Node) || len(a.Node) > 63)) ||
			(a.Kind != "" && a.Kind != "a" && a.Kind != "b") || a.Limit < 1 || a.Limit > 50 || a.Ratio < 0 || a.Ratio > 1 || len(a.Tags) > 3 {
			t.Fatalf("accepted invalid arguments %+v from %q", a, in)
		}
	})
}

func TestRounding(t *testing.T) {
	for in, want := range map[float64]float64{28.43: 28, 4.16: 4.2, 0.128: 0.13, 10: 10, 9.96: 10, 0: 0, -4.16: -4.2} {
		if got := Compact(in); got != want {
			t.Errorf("Compact(%v) = %v, want %v", in, got, want)
		}
	}
	if GiB(int64(64)<<30) != 64 || GiB2(int64(512)<<20) != 0.5 {
		t.Error("unit conversion")
	}
	if Pct(1, 3) != 33.3 || Pct(5, 0) != 0 || FracPct(0.4567) != 45.7 {
		t.Error("percentages")
	}
}
