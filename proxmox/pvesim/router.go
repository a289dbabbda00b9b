package pvesim

import (
	"strings"
)

// handler answers one API call; its result is sent as {"data": result}.
type handler func(c *reqCtx) (any, error)

type route struct {
	method  string
	pattern string
	segs    []string
	params  []param
	perm    perm
	h       handler
	literal int // number of literal segments, to prefer /a/b over /a/{x}
	// rest: the last variable takes the rest of the path, slashes included
	// (a volume id such as "local:backup/vzdump-....vma.zst" whose "/" a
	// client did not escape, or escaped and the URL decoding undid).
	rest bool
}

// routeSetups are called once per Sim, in Start, to register routes. Files
// of this package append to it from init(), so no file needs to know the
// others' registration functions.
var routeSetups []func(s *Sim)

// routeRest registers a route whose last variable takes the rest of the path.
func (s *Sim) routeRest(method, pattern string, pm perm, params []param, h handler) {
	s.route(method, pattern, pm, params, h)
	s.routes[len(s.routes)-1].rest = true
}

// route registers a handler. pattern is below /api2/json; {name} segments
// are path variables, added to the parameters (so params must list them).
func (s *Sim) route(method, pattern string, pm perm, params []param, h handler) {
	r := &route{method: method, pattern: pattern, params: params, perm: pm, h: h}
	r.segs = splitPath(pattern)
	for _, sg := range r.segs {
		if !isVar(sg) {
			r.literal++
		}
	}
	s.routes = append(s.routes, r)
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func isVar(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

// match finds the route for method and path; pathOK reports whether any
// method serves that path (both cases answer 501, like Proxmox).
func (s *Sim) match(method, path string) (*route, map[string]string) {
	segs := splitPath(path)
	var best *route
	var bestVars map[string]string
	for _, r := range s.routes {
		if r.method != method || len(r.segs) > len(segs) || (len(r.segs) != len(segs) && !r.rest) {
			continue
		}
		vars := map[string]string{}
		ok := true
		for i, sg := range r.segs {
			if isVar(sg) {
				if r.rest && i == len(r.segs)-1 {
					vars[sg[1:len(sg)-1]] = strings.Join(segs[i:], "/")
					break
				}
				if segs[i] == "" {
					ok = false
					break
				}
				vars[sg[1:len(sg)-1]] = segs[i]
			} else if sg != segs[i] {
				ok = false
				break
			}
		}
		if ok && (best == nil || r.literal > best.literal) {
			best, bestVars = r, vars
		}
	}
	return best, bestVars
}
