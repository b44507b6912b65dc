package proccpu

import (
	"os/exec"
	"testing"
	"time"

	"github.com/tossintl/backend/internal/wait"
)

// A child that burns CPU shows under its group, this process under Self.
func TestSinceCountsChildrenAndSelf(t *testing.T) {
	before := Take()
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	x := 0
	for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); {
		x++
	}
	// Read while the child is alive (sleeping after its loop).
	var shares []Share
	_ = wait.Until(t.Context(), 5*time.Second, func() (bool, error) {
		shares = Take().Since(before)
		return find(shares, "sh") > 0, nil
	})
	if find(shares, Self) <= 0 || find(shares, "sh") <= 0 {
		t.Errorf("shares %+v: want this process and its sh child (%d)", shares, x)
	}
	if got := Format(shares[:1], "test"); got == "" {
		t.Error("Format printed nothing")
	}
}

func find(shares []Share, group string) float64 {
	for _, s := range shares {
		if s.Group == group {
			return s.Seconds
		}
	}
	return 0
}

func TestGroupNamesTheStacksProcesses(t *testing.T) {
	for comm, want := range map[string]string{"bootstrap": "bootstraps", "aws-lambda-rie": "aws-lambda-rie", "java": "DynamoDB Local", "moto_server": "moto_server", "python3": "moto_server"} {
		if got := Group(comm); got != want {
			t.Errorf("Group(%q) = %q, want %q", comm, got, want)
		}
	}
}
