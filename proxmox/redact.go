package proxmox

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// RedactedValue replaces a secret in configuration output.
const RedactedValue = "[redacted]"

// secretKeyRE matches config keys whose values are secrets or credentials.
var secretKeyRE = regexp.MustCompile(`(?i)(pass(word|wd)?|secret|token|key(?:file)?$|^cipassword$|^sshkeys$)`)

// secretParamRE matches secrets embedded in property strings,
// e.g. "...,password=abc,..." in a storage or mapping string.
var secretParamRE = regexp.MustCompile(`(?i)((?:^|,)(?:password|pass|secret|token|key)=)[^,]*`)

// IsSecretKey reports whether a config key holds a secret that must never be
// shown (cipassword, password, tokens, keys).
func IsSecretKey(key string) bool {
	// sshkeys are public keys, but they identify people and are long; keep them out.
	return secretKeyRE.MatchString(key)
}

func redactConfig(raw map[string]any) *GuestConfig {
	gc := &GuestConfig{Values: make(map[string]string, len(raw))}
	for k, v := range raw {
		if k == "digest" {
			gc.Digest = valueText(v)
			continue
		}
		if IsSecretKey(k) {
			gc.Values[k] = RedactedValue
			gc.Redacted = append(gc.Redacted, k)
			continue
		}
		s := valueText(v)
		if r := secretParamRE.ReplaceAllString(s, "${1}"+RedactedValue); r != s {
			s = r
			gc.Redacted = append(gc.Redacted, k)
		}
		gc.Values[k] = s
	}
	sort.Strings(gc.Redacted)
	return gc
}

func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "1"
		}
		return "0"
	default:
		b, _ := json.Marshal(x)
		return strings.TrimSpace(string(b))
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
