# SPDX-License-Identifier: MIT
# `taskkill /PID n` without /F (WM_CLOSE to the process's top-level windows):
#  1. the peer: a console program without windows cannot be closed that
#     way (taskkill fails and the program lives);
#  2. `tether events terminate`: receives terminate, exits by itself;
#  3. `tether events logoff` (hidden window, terminate not watched): the
#     close request is terminate's default, the process ends with 143
#     (issue 14, item 10: it was swallowed while taskkill said SUCCESS).
param([Parameter(Mandatory = $true)][string]$Bin)
. "$PSScriptRoot/common.ps1"
$tether = Join-Path $Bin 'tether.exe'
$tmp = Join-Path ([IO.Path]::GetTempPath()) "tether-taskkill-$PID"
New-Item -ItemType Directory -Force -Path $tmp | Out-Null

# 1. Peer.
$peer = Start-Process -FilePath 'ping.exe' -ArgumentList @('-n', '60', '127.0.0.1') -PassThru -WindowStyle Hidden
Start-Sleep -Milliseconds 500
& taskkill.exe /PID $peer.Id | Out-Null
$peerRc = $LASTEXITCODE
$peerAlive = -not (Wait-Ended $peer 2000)
Stop-Process -Id $peer.Id -Force -ErrorAction SilentlyContinue
if ($peerRc -eq 0 -or -not $peerAlive) { Fail "peer: taskkill without /F closed a windowless console program (rc $peerRc)" }

# 2. terminate watched.
$p = Start-Logged $tether @('events', '--count', '1', 'terminate') "$tmp/t"
if (-not (Wait-Line "$tmp/t.out" 'watching|ready|terminate' 10000)) { Start-Sleep -Seconds 2 }
& taskkill.exe /PID $p.Id | Out-Null
if ($LASTEXITCODE -ne 0) { Stop-Process -Id $p.Id -Force; Fail "taskkill of a terminate watcher failed (rc $LASTEXITCODE)" }
if (-not (Wait-Ended $p 10000)) { Stop-Process -Id $p.Id -Force; Fail 'terminate watcher did not end after the event' }
if (-not (Select-String -Path "$tmp/t.out" -Pattern 'terminate' -Quiet)) { Fail 'no terminate event printed' }

# 3. only logoff watched.
$p = Start-Logged $tether @('events', 'logoff') "$tmp/l"
Start-Sleep -Seconds 2
& taskkill.exe /PID $p.Id | Out-Null
if ($LASTEXITCODE -ne 0) { Stop-Process -Id $p.Id -Force; Fail "taskkill of a logoff watcher failed (rc $LASTEXITCODE)" }
if (-not (Wait-Ended $p 10000)) { Stop-Process -Id $p.Id -Force; Fail 'logoff-only watcher survived taskkill (close request swallowed)' }
if ($p.ExitCode -ne 143) { Fail "logoff-only watcher ended with $($p.ExitCode), expected 143" }
Remove-Item -Recurse -Force $tmp -ErrorAction SilentlyContinue
exit 0
