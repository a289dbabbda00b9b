package pvesim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"time"
)

// Keys are generated once per process and shared by every simulator: RSA
// key generation is the slow part (real PVE uses RSA 4096 for the CA and
// 2048 for nodes; 2048 everywhere keeps tests fast).
var (
	keyOnce                sync.Once
	caKey, leafKey, altKey *rsa.PrivateKey
	keyErr                 error
)

func sharedKeys() error {
	keyOnce.Do(func() {
		for _, k := range []**rsa.PrivateKey{&caKey, &leafKey, &altKey} {
			if *k, keyErr = rsa.GenerateKey(rand.Reader, 2048); keyErr != nil {
				return
			}
		}
	})
	return keyErr
}

// certSet holds a simulator's CA and its node certificates.
type certSet struct {
	mu     sync.Mutex
	ca     *x509.Certificate
	caDER  []byte
	leaves map[string]*tls.Certificate // node -> cert; "!"+node for the changed one
	serial int64
	now    time.Time
	// validFor overrides a node certificate's remaining validity
	// (scenario cert_valid_for).
	validFor map[string]time.Duration
}

func newCertSet(clusterName string, now time.Time) (*certSet, error) {
	if err := sharedKeys(); err != nil {
		return nil, err
	}
	cs := &certSet{leaves: map[string]*tls.Certificate{}, serial: 1, now: now}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject: pkix.Name{
			CommonName:         "Proxmox Virtual Environment",
			OrganizationalUnit: []string{pseudoUUID(clusterName)},
			Organization:       []string{"PVE Cluster Manager CA"},
		},
		NotBefore:             now.Add(-400 * 24 * time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	cs.caDER = der
	cs.ca, err = x509.ParseCertificate(der)
	return cs, err
}

// leaf returns the node certificate (subject and SANs of pve-cluster's
// Setup.pm); changed gives a new certificate with another key, as after a
// certificate renewal.
func (cs *certSet) leaf(node, ip string, changed bool) (*tls.Certificate, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	key := node
	k := leafKey
	if changed {
		key, k = "!"+node, altKey
	}
	if c := cs.leaves[key]; c != nil {
		return c, nil
	}
	cs.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(cs.serial),
		Subject: pkix.Name{
			OrganizationalUnit: []string{"PVE Cluster Node"},
			Organization:       []string{"Proxmox Virtual Environment"},
			CommonName:         node,
		},
		NotBefore:   cs.now.Add(-400 * 24 * time.Hour),
		NotAfter:    cs.now.Add(330 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", node},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	if changed {
		tmpl.NotBefore = cs.now.Add(-time.Hour)
	} else if d := cs.validFor[node]; d > 0 {
		tmpl.NotAfter = cs.now.Add(d)
	}
	if p := net.ParseIP(ip); p != nil {
		tmpl.IPAddresses = append(tmpl.IPAddresses, p)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, cs.ca, &k.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der, cs.caDER}, PrivateKey: k}
	c.Leaf, _ = x509.ParseCertificate(der)
	cs.leaves[key] = c
	return c, nil
}

func (cs *certSet) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cs.caDER})
}

// fingerprint is SHA-256 of the DER certificate, upper-case colon hex.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// pseudoUUID derives a stable UUID-shaped string from a name.
func pseudoUUID(name string) string {
	h := sha256.Sum256([]byte(name))
	return fmt.Sprintf("%x-%x-4%x-8%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])[:36]
}
