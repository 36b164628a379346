/* global document, window, location, URL, performance, setInterval, clearInterval, setTimeout, clearTimeout */
// The browser page talks to the server only through @gradio/client, so
// every interaction here is also a Gradio protocol exchange.
import { Client } from '/ui/vendor/browser.js';

const API_NAME = '/inference_with_gradcam';
const $ = (id) => document.getElementById(id);

const state = { file: null, previewUrl: null, client: null, busy: false };

function setFile(file) {
  // The result on show belongs to the previous photo.
  if (file !== state.file) clearOutputs();
  state.file = file;
  if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
  state.previewUrl = file ? URL.createObjectURL(file) : null;
  const preview = $('preview');
  preview.hidden = !file;
  $('drop-hint').hidden = Boolean(file);
  if (file) preview.src = state.previewUrl;
  else preview.removeAttribute('src');
  $('file-name').textContent = file ? file.name || 'pasted image' : '';
  $('predict').disabled = !file || !state.client || state.busy;
}

// A file that is not an image has no preview: show its name alone.
$('preview').addEventListener('error', () => {
  $('preview').hidden = true;
});

function explainFor() {
  return document.querySelector('input[name="explain_for"]:checked').value;
}

function showError(message) {
  const box = $('error-message');
  box.textContent = message;
  box.hidden = false;
  $('toast-text').textContent = message;
  $('toast').hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => ($('toast').hidden = true), 8000);
}

function clearOutputs() {
  for (const id of ['gender-label', 'smile-label']) $(id).textContent = '';
  for (const id of ['gender-confidence', 'smile-confidence']) {
    $(id).textContent = '';
  }
  $('gender-bar').style.width = '0';
  $('smile-bar').style.width = '0';
  $('attention').hidden = true;
  $('attention').removeAttribute('src');
  $('attention-empty').hidden = false;
  $('face-count').textContent = '';
  $('error-message').hidden = true;
  $('toast').hidden = true;
}

function showConfidence(name, percent) {
  $(`${name}-confidence`).textContent = `${percent.toFixed(2)} %`;
  $(`${name}-bar`).style.width = `${Math.max(0, Math.min(100, percent))}%`;
}

function showResult(data) {
  const [gender, genderPct, smile, smilePct, attention] = data;
  $('gender-label').textContent = gender;
  $('smile-label').textContent = smile;
  showConfidence('gender', genderPct);
  showConfidence('smile', smilePct);
  if (attention && attention.url) {
    $('attention').src = attention.url;
    $('attention').alt = attention.alt_text || 'Attention map';
    $('attention').hidden = false;
    $('attention-empty').hidden = true;
  }
}

function startProgress() {
  const started = performance.now();
  $('progress').hidden = false;
  const tick = () => {
    const seconds = (performance.now() - started) / 1000;
    $('progress-text').textContent = `processing | ${seconds.toFixed(1)}s`;
  };
  tick();
  const timer = setInterval(tick, 100);
  return () => {
    clearInterval(timer);
    $('progress').hidden = true;
  };
}

async function predict() {
  if (!state.file || !state.client || state.busy) return;
  state.busy = true;
  $('predict').disabled = true;
  clearOutputs();
  const stop = startProgress();
  const file = state.file;
  try {
    const job = state.client.submit(API_NAME, {
      image: file,
      explain_for: explainFor(),
    });
    for await (const event of job) {
      // Another photo chosen meanwhile: this result is not for it.
      if (state.file !== file) continue;
      if (event.type === 'data') showResult(event.data);
      if (event.type === 'log') {
        const match = /Found (\d+) face/.exec(event.log);
        if (match) $('face-count').textContent = `Faces found: ${match[1]}`;
      }
      if (event.type === 'status' && event.stage === 'error') {
        showError(event.message || 'Something went wrong.');
      }
    }
  } catch (err) {
    if (state.file === file) {
      showError(err && err.message ? err.message : String(err));
    }
  } finally {
    stop();
    state.busy = false;
    $('predict').disabled = !state.file;
  }
}

function wireInputs() {
  const zone = $('dropzone');
  $('file-input').addEventListener('change', (e) => {
    setFile(e.target.files[0] || null);
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('dragging');
    setFile(e.dataTransfer.files[0] || null);
  });
  window.addEventListener('paste', (e) => {
    const file = e.clipboardData && e.clipboardData.files[0];
    if (file) setFile(file);
  });
  for (const radio of document.querySelectorAll('input[name="explain_for"]')) {
    radio.addEventListener('change', () => {
      for (const label of document.querySelectorAll('.radio')) {
        label.classList.toggle(
          'selected',
          label.contains(radio) && radio.checked,
        );
      }
    });
  }
  $('predict').addEventListener('click', predict);
  $('clear').addEventListener('click', () => {
    $('file-input').value = '';
    setFile(null);
    clearOutputs();
  });
}

async function connect() {
  try {
    state.client = await Client.connect(location.origin, {
      events: ['data', 'status', 'log'],
    });
    $('connection').textContent = 'connected';
    document.body.dataset.ready = 'true';
    setFile(state.file);
  } catch (err) {
    $('connection').textContent = 'not connected';
    showError(`Could not connect: ${err.message}`);
  }
}

wireInputs();
connect();
