"""scripts/check_layers.py: clean on the real tree, and failing on a deliberate wrong include."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_layers.py"


def run(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root)],
                          capture_output=True, text=True, timeout=60)


def test_the_tree_respects_its_layers():
    r = run(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_wrong_include_fails_with_file_line_and_rule(tmp_path):
    shutil.copytree(ROOT / "src", tmp_path / "src")
    victim = tmp_path / "src" / "http" / "query.cc"
    text = victim.read_text()
    line = text.count("\n") + 1
    victim.write_text(text + '#include "owner/owner_service.h"\n')
    r = run(tmp_path)
    assert r.returncode == 1, r.stdout
    assert (f'src/http/query.cc:{line}: layer http may not include "owner/owner_service.h" '
            f"(layer owner)") in r.stdout, r.stdout
    assert r.stdout.count("check-layers: src/") == 1, r.stdout


def test_a_header_is_placed_in_the_layer_of_its_folder(tmp_path):
    (tmp_path / "src" / "store").mkdir(parents=True)
    (tmp_path / "src" / "store" / "x.cc").write_text('#include "room/room_owner.h"\n')
    r = run(tmp_path)
    assert r.returncode == 1
    assert 'layer store may not include "room/room_owner.h" (layer room)' in r.stdout


def test_an_unknown_folder_or_header_is_reported(tmp_path):
    (tmp_path / "src" / "newthing").mkdir(parents=True)
    (tmp_path / "src" / "newthing" / "y.cc").write_text('#include "nowhere.h"\n')
    r = run(tmp_path)
    assert r.returncode == 1
    assert "folder 'newthing' is not listed in LAYERS" in r.stdout


def test_a_session_may_not_reach_the_loop_or_the_server(tmp_path):
    """Sessions write only through ConnOutput and ask only through RoomClient: no io, no server."""
    (tmp_path / "src" / "session").mkdir(parents=True)
    (tmp_path / "src" / "session" / "z.cc").write_text(
        '#include "server/shard.h"\n#include "io/shard_loop.h"\n#include "owner/owner_service.h"\n'
        '#include "room/fanout.h"\n')
    r = run(tmp_path)
    assert r.returncode == 1
    assert 'layer session may not include "server/shard.h" (layer server)' in r.stdout
    assert 'layer session may not include "io/shard_loop.h" (layer io)' in r.stdout
    assert 'layer session may not include "owner/owner_service.h" (layer owner)' in r.stdout
    assert "room/fanout.h" not in r.stdout
