// The files panel's uploads (dashboard/components/files_panel.py): the drop zone and the file
// picker send each file on its own XMLHttpRequest to the app's upload route, with a progress bar,
// a cancel button and the server's reason when a file is refused. Copied into the built frontend
// as a module (FilesUploaderPlugin), so the Content-Security-Policy's script-src 'self' covers it.
// Every text comes from the drop zone's data attributes (translated by the page); the server
// checks everything again (size while reading, type from the bytes, quota).

const ZONE = "[data-files-drop]";
let installed = false;

export function installUploader() {
  if (installed || typeof document === "undefined") return;
  installed = true;
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
    const zone = input.closest(ZONE);
    if (zone && input.files) {
      sendAll(zone, input.files);
      input.value = "";
    }
  });
  document.addEventListener("dragover", (event) => {
    const zone = zoneOf(event.target);
    if (zone) {
      event.preventDefault();
      zone.dataset.over = "true";
    }
  });
  document.addEventListener("dragleave", (event) => {
    const zone = zoneOf(event.target);
    if (zone) delete zone.dataset.over;
  });
  document.addEventListener("drop", (event) => {
    const zone = zoneOf(event.target);
    if (zone && event.dataTransfer) {
      event.preventDefault();
      delete zone.dataset.over;
      sendAll(zone, event.dataTransfer.files);
    }
  });
}

function zoneOf(target) {
  return target instanceof Element ? target.closest(ZONE) : null;
}

function sendAll(zone, files) {
  for (const file of Array.from(files)) send(zone, file);
}

function send(zone, file) {
  const row = progressRow(zone, file.name);
  if (file.size > Number(zone.dataset.maxBytes || "0")) {
    finish(row, "refused", zone.dataset.tTooLarge);
    return;
  }
  const params = new URLSearchParams({ project: zone.dataset.project || "" });
  if (zone.dataset.task) params.set("task", zone.dataset.task);
  const request = new XMLHttpRequest();
  request.open("POST", `${zone.dataset.url}?${params}`);
  request.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
  request.setRequestHeader("X-Language", zone.dataset.lang || "");
  request.upload.onprogress = (event) => {
    if (event.lengthComputable) row.bar.value = Math.round((100 * event.loaded) / event.total);
  };
  request.onload = () => {
    if (request.status === 201) {
      row.bar.value = 100;
      finish(row, "done", zone.dataset.tDone);
    } else {
      finish(row, "refused", reason(request) || zone.dataset.tFailed);
    }
    refreshList();
  };
  request.onerror = () => finish(row, "failed", zone.dataset.tFailed);
  request.onabort = () => finish(row, "cancelled", zone.dataset.tCancelled);
  row.cancel.onclick = () => request.abort();
  request.send(file);
}

function reason(request) {
  try {
    return JSON.parse(request.responseText).message;
  } catch {
    return "";
  }
}

function progressRow(zone, name) {
  const list = zone.querySelector("[data-files-progress]");
  const item = document.createElement("li");
  item.dataset.testid = "upload-row";
  item.dataset.state = "sending";
  const label = document.createElement("span");
  label.className = "wd-upload-name";
  label.textContent = name;
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = 0;
  const status = document.createElement("span");
  status.className = "wd-upload-status";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.textContent = zone.dataset.tCancel || "Cancel";
  cancel.dataset.testid = "upload-cancel";
  item.append(label, bar, status, cancel);
  list.append(item);
  return { item, bar, status, cancel };
}

function finish(row, state, message) {
  row.item.dataset.state = state;
  row.status.textContent = message || "";
  row.cancel.remove();
}

function refreshList() {
  const button = document.getElementById("files-refresh");
  if (button) button.click();
}
