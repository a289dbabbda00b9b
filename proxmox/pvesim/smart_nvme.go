package pvesim

import (
	"fmt"
	"strconv"
	"strings"
)

// nvmeSmartText is the text GET /nodes/{node}/disks/smart returns for an
// NVMe disk: smartctl's "SMART/Health Information (NVMe Log 0x02)" section.
// Every figure follows from the scenario's disk: Percentage Used from its
// wearout, the data written from that wear and the disk's size (an
// enterprise drive is rated for about 1.3 full writes a day over five
// years), the error counters and critical warning from its health; what the
// scenario does not state (temperature, hours, cycles) is a deterministic
// function of the seed and the disk's serial, so two disks never read alike.
func nvmeSmartText(seed int64, d *Disk) string {
	key := "smart/" + d.Serial + "/" + d.DevPath
	h := func(n int64) float64 { return unit(hash64(seed, key, n)) }
	used := 0
	if d.Wearout >= 0 {
		used = 100 - d.Wearout
	}
	failed := d.Health == "FAILED"
	crit, spare, mediaErrs, logEntries := "0x00", 100, 0, int64(0)
	if failed {
		crit, spare = "0x04", 8+int(h(1)*2) // reliability degraded, spare below its 10 % threshold
		mediaErrs = 20 + int(h(2)*60)
	}
	hours := 2000 + int64(h(3)*28000)
	cycles := 20 + hours/400 + int64(h(4)*30)
	unsafe := int64(h(5) * 25)
	if mediaErrs > 0 {
		logEntries = int64(mediaErrs) + int64(h(6)*20)
	}
	// Rated endurance ~ 1.3 drive writes per day for five years; the wear
	// reported is the share of it consumed (at least a little: a new disk
	// has been written to).
	rated := float64(d.Size) * 1.3 * 365 * 5
	written := rated * (float64(used) + 0.2 + 0.6*h(7)) / 100
	read := written * (0.7 + 0.9*h(8))
	const unitBytes = 512000 // an NVMe data unit is 1,000 blocks of 512 bytes
	wUnits, rUnits := int64(written/unitBytes), int64(read/unitBytes)
	temp := 30 + int(h(9)*16)
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "%-36s%s\n", k+":", v) }
	b.WriteString("\nSMART/Health Information (NVMe Log 0x02)\n")
	line("Critical Warning", crit)
	line("Temperature", strconv.Itoa(temp)+" Celsius")
	line("Available Spare", strconv.Itoa(spare)+"%")
	line("Available Spare Threshold", "10%")
	line("Percentage Used", strconv.Itoa(used)+"%")
	line("Data Units Read", thousands(rUnits)+" ["+siBytes(float64(rUnits)*unitBytes)+"]")
	line("Data Units Written", thousands(wUnits)+" ["+siBytes(float64(wUnits)*unitBytes)+"]")
	line("Host Read Commands", thousands(int64(read/(64<<10))))
	line("Host Write Commands", thousands(int64(written/(48<<10))))
	line("Controller Busy Time", thousands(hours/3+int64(h(10)*500)))
	line("Power Cycles", thousands(cycles))
	line("Power On Hours", thousands(hours))
	line("Unsafe Shutdowns", thousands(unsafe))
	line("Media and Data Integrity Errors", thousands(int64(mediaErrs)))
	line("Error Information Log Entries", thousands(logEntries))
	line("Warning  Comp. Temperature Time", "0")
	line("Critical Comp. Temperature Time", "0")
	return b.String()
}

// thousands formats n with comma separators, as smartctl does.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// siBytes formats a byte count with three significant digits and an SI
// unit, as smartctl's capacity brackets do ("94.3 TB", "103 TB").
func siBytes(v float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	i := 0
	for v >= 999.5 && i < len(units)-1 {
		v /= 1000
		i++
	}
	switch {
	case i == 0 || v >= 99.95:
		return fmt.Sprintf("%.0f %s", v, units[i])
	case v >= 9.995:
		return fmt.Sprintf("%.1f %s", v, units[i])
	}
	return fmt.Sprintf("%.2f %s", v, units[i])
}
