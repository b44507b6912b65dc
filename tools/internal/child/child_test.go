package child

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// The test binary doubles as the child: with CHILD_SERVE_PORT set it
// serves on that port, or says the port is taken, as a server would.
func TestMain(m *testing.M) {
	if p := os.Getenv("CHILD_SERVE_PORT"); p != "" {
		ln, err := net.Listen("tcp", "127.0.0.1:"+p)
		if err != nil {
			fmt.Println("bind:", err)
			os.Exit(3)
		}
		fmt.Println("serving on port", ln.Addr().(*net.TCPAddr).Port)
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "child") }))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func spec() Spec {
	return Spec{
		Name: "test child",
		Command: func(port int) *exec.Cmd {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "CHILD_SERVE_PORT="+strconv.Itoa(port))
			return cmd
		},
		PortTaken: func(out []byte) bool { return bytes.Contains(out, []byte("address already in use")) },
	}
}

// TestStartSkipsATakenPort: the first port tried is held by this process,
// so the child fails to bind it; Start tries the next, and the port it
// reports is the child's own, not this process's listener.
func TestStartSkipsATakenPort(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := free.Addr().(*net.TCPAddr).Port
	free.Close()
	heldPort := held.Addr().(*net.TCPAddr).Port
	if !Listened(heldPort) || !Listening(os.Getpid(), heldPort) || Listened(freePort) {
		t.Fatalf("port %d held by this process: Listened %v, Listening %v; closed port %d: Listened %v",
			heldPort, Listened(heldPort), Listening(os.Getpid(), heldPort), freePort, Listened(freePort))
	}
	ports := []int{heldPort, freePort}
	old := pickPort
	t.Cleanup(func() { pickPort = old })
	pickPort = func() int { p := ports[0]; ports = ports[1:]; return p }

	p, err := Start(t.Context(), spec())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Port != freePort {
		t.Fatalf("child on port %d, want %d (the held port was skipped)", p.Port, freePort)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", p.Port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, ok := p.CPUSeconds(); !ok {
		t.Error("no CPU time for a running child")
	}
	p.Close()
	if _, ok := p.CPUSeconds(); ok {
		t.Error("CPU time of a child that is gone")
	}
}

// TestStartReportsAChildThatDies: a child that exits for another reason
// is an error with its output, not a retry.
func TestStartReportsAChildThatDies(t *testing.T) {
	sp := spec()
	sp.Command = func(int) *exec.Cmd { return exec.Command("sh", "-c", "echo no java here; exit 1") }
	_, err := Start(t.Context(), sp)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("no java here")) {
		t.Fatalf("err = %v, want the child's output", err)
	}
}

// TestStartReadsTheReportedPort: a child that binds port 0 is started once
// and found on the port it says; one whose word is not backed by a
// listening socket of its own is not taken at its word.
func TestStartReadsTheReportedPort(t *testing.T) {
	re := regexp.MustCompile(`serving on port ([0-9]+)`)
	sp := spec()
	sp.PortTaken = nil
	sp.ReportedPort = func(out []byte) int {
		m := re.FindSubmatch(out)
		if m == nil {
			return 0
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	var asked []int
	command := sp.Command
	sp.Command = func(port int) *exec.Cmd { asked = append(asked, port); return command(port) }
	p, err := Start(t.Context(), sp)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if len(asked) != 1 || asked[0] != 0 || p.Port == 0 || !Listening(p.PID, p.Port) {
		t.Fatalf("started on %v, found on port %d", asked, p.Port)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", p.Port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// A port this process holds, claimed by a child that listens nowhere.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	liar := sp
	liar.Timeout = 300 * time.Millisecond
	liar.Command = func(int) *exec.Cmd {
		return exec.Command("sh", "-c", fmt.Sprintf("echo serving on port %d; exec sleep 30", held.Addr().(*net.TCPAddr).Port))
	}
	if p, err := Start(t.Context(), liar); err == nil {
		p.Close()
		t.Fatal("a child that does not hold the port it reports was taken as listening")
	}
}
