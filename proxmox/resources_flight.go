package proxmox

// resourceRead is one /cluster/resources read: the answer and its decoded
// list. Concurrent identical reads share one (Client.resFlights): on a large
// cluster the decoded list, not the answer's bytes, is most of a call's
// memory, and many clients asking at once must not each hold their own.
// Nothing is kept after the flight lands (no cache).
type resourceRead struct {
	a   answer
	rs  []Resource
	err error
}
