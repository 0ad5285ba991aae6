"""`hub pki ...`: init, issue-station-cert, revoke, rotate (real files, real database)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography import x509
from typer.testing import CliRunner

from tests.hub_cli.test_cli import cli_env, invoke

__all__ = ["cli_env"]  # the fixture, shared with the CLI tests


def test_pki_init_issue_revoke_rotate(cli_env: CliRunner, tmp_path: Path) -> None:
    pki_dir = Path(os.environ["HUB_DATA_DIR"]) / "pki"
    assert "no CA yet" in invoke(cli_env, "pki", "rotate", code=1)
    first = invoke(cli_env, "pki", "init")
    assert first.startswith("new CA")
    assert stat.S_IMODE((pki_dir / "ca.key").stat().st_mode) == 0o600
    assert invoke(cli_env, "pki", "init").startswith("existing CA")  # never replaced
    ca = x509.load_pem_x509_certificate((pki_dir / "ca.pem").read_bytes())

    out_dir = tmp_path / "st"
    assert "hub db upgrade" in invoke(cli_env, "pki", "issue-station-cert", "ST-9", "--out",
                                      str(out_dir), code=1)
    invoke(cli_env, "db", "upgrade")
    issued = invoke(cli_env, "pki", "issue-station-cert", "ST-9", "--out", str(out_dir))
    cert = x509.load_pem_x509_certificate((out_dir / "ST-9.pem").read_bytes())
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "ST-9"
    serial = format(cert.serial_number, "x")
    assert f"serial {serial}" in issued
    assert stat.S_IMODE((out_dir / "ST-9.key").stat().st_mode) == 0o600

    assert "revoked" in invoke(cli_env, "pki", "revoke", "0x" + serial.upper(), "--reason",
                               "stolen")
    assert "already revoked" in invoke(cli_env, "pki", "revoke", serial)
    assert "not a hexadecimal serial" in invoke(cli_env, "pki", "revoke", "xyz", code=1)

    rotated = invoke(cli_env, "pki", "rotate")
    assert "previous CAs trusted: 1" in rotated
    new_ca = x509.load_pem_x509_certificate((pki_dir / "ca.pem").read_bytes())
    assert new_ca.serial_number != ca.serial_number
    server_chain = x509.load_pem_x509_certificates((pki_dir / "server.pem").read_bytes())
    server_chain[0].verify_directly_issued_by(new_ca)
    server_chain[1].verify_directly_issued_by(ca)  # the cross certificate for old roots
